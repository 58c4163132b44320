/// What this machine has, as read from the operating system: the raw material of the
/// node's signed hardware profile.
public struct DetectedHardware: Sendable, Equatable, Codable {
    public typealias DeviceClass = TernMesh.DeviceClass

    public struct GPU: Sendable, Equatable, Codable {
        /// PCI vendor name ("NVIDIA", "AMD", "Intel", …) or the hex id when unknown.
        public var vendor: String
        public var name: String
        /// Dedicated memory when the driver reports it.
        public var memoryBytes: UInt64?
        /// PCI slot ("0000:01:00.0") when known; identifies the card across sources.
        public var pciSlot: String?

        public init(vendor: String, name: String, memoryBytes: UInt64?, pciSlot: String?) {
            self.vendor = vendor
            self.name = name
            self.memoryBytes = memoryBytes
            self.pciSlot = pciSlot
        }
    }

    /// Run-queue averages over 1, 5 and 15 minutes.
    public struct Load: Sendable, Equatable, Codable {
        public var one: Double
        public var five: Double
        public var fifteen: Double

        public init(one: Double, five: Double, fifteen: Double) {
            self.one = one
            self.five = five
            self.fifteen = fifteen
        }
    }

    public var cpuModel: String
    public var logicalCores: Int
    /// Kernel-relevant ISA features, named as `TernKernels.CPUFeatures.names` names them.
    public var isaFeatures: [String]
    public var ramTotalBytes: UInt64
    public var ramAvailableBytes: UInt64
    public var gpus: [GPU]
    public var deviceClass: DeviceClass
    public var load: Load

    public init(
        cpuModel: String, logicalCores: Int, isaFeatures: [String], ramTotalBytes: UInt64,
        ramAvailableBytes: UInt64, gpus: [GPU], deviceClass: DeviceClass, load: Load
    ) {
        self.cpuModel = cpuModel
        self.logicalCores = logicalCores
        self.isaFeatures = isaFeatures
        self.ramTotalBytes = ramTotalBytes
        self.ramAvailableBytes = ramAvailableBytes
        self.gpus = gpus
        self.deviceClass = deviceClass
        self.load = load
    }
}

public enum HardwareDetectionError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String)
    case malformed(path: String, why: String)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read \(path)"
        case .malformed(let path, let why): "unexpected contents in \(path): \(why)"
        }
    }
}
