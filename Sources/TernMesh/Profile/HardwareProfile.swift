/// What a node tells the mesh about its hardware, so dispatchers can place work.
/// A node republishes it with a higher `profileVersion` when something changes (load,
/// models held); receivers keep the newest version per node.
public struct HardwareProfile: Equatable, Sendable {
    public static let schemaVersion: UInt8 = 2
    /// Largest canonical encoding: a signed profile must fit beside a SWIM message in one
    /// datagram.
    public static let maxEncodedBytes = 900
    public static let maxGPUs = 8
    public static let hashByteCount = 32
    /// Physical bounds a profile must respect (sanity checks on receipt): a claim past them
    /// is a lie or a bug, and would skew where a dispatcher places work.
    public static let maxCores: UInt16 = 4_096
    public static let maxRAMBytes: UInt64 = 1 << 46          // 64 TiB
    public static let maxGPUMemoryBytes: UInt64 = 1 << 42    // 4 TiB
    public static let maxTernaryGOPS = 1_000_000.0           // 1 POPS
    public static let maxMemoryGBPerSecond = 100_000.0
    /// Longest CPU model or GPU name, and longest ISA feature or kernel class name, in UTF-8 bytes.
    public static let maxNameBytes = 128
    public static let maxFeatureBytes = 32

    public typealias DeviceClass = TernMesh.DeviceClass

    public struct GPU: Equatable, Sendable {
        public var vendor: String
        public var name: String
        public var memoryBytes: UInt64
        public init(vendor: String, name: String, memoryBytes: UInt64) {
            self.vendor = vendor
            self.name = name
            self.memoryBytes = memoryBytes
        }
    }

    public var nodeID: NodeID
    public var profileVersion: UInt64
    public var cpuModel: String
    public var cores: UInt16
    public var isaFeatures: [String]
    public var ramTotalBytes: UInt64
    public var ramAvailableBytes: UInt64
    public var gpus: [GPU]
    public var deviceClass: DeviceClass
    /// Measured ternary matrix-vector throughput, 10⁹ ops/s.
    public var ternaryGOPS: Double
    /// Measured memory bandwidth, GB/s.
    public var memoryGBPerSecond: Double
    /// Content hashes (BLAKE2b-256) of models and adapters this node holds.
    public var modelHashes: [[UInt8]]
    public var adapterHashes: [[UInt8]]
    /// Current load, 0…100 percent.
    public var loadPercent: UInt8
    /// The node's kernel class (TernKernels' `KernelClass` name, e.g. "avx512-bf16-vnni"):
    /// nodes of one class train bit-identically, so a dispatcher knows whether it can
    /// re-execute this node's work and compare bytes. Empty means unknown.
    public var kernelClass: String

    public init(nodeID: NodeID, profileVersion: UInt64, cpuModel: String, cores: UInt16, isaFeatures: [String],
                ramTotalBytes: UInt64, ramAvailableBytes: UInt64, gpus: [GPU], deviceClass: DeviceClass,
                ternaryGOPS: Double, memoryGBPerSecond: Double, modelHashes: [[UInt8]], adapterHashes: [[UInt8]],
                loadPercent: UInt8, kernelClass: String) {
        self.nodeID = nodeID
        self.profileVersion = profileVersion
        self.cpuModel = cpuModel
        self.cores = cores
        self.isaFeatures = isaFeatures
        self.ramTotalBytes = ramTotalBytes
        self.ramAvailableBytes = ramAvailableBytes
        self.gpus = gpus
        self.deviceClass = deviceClass
        self.ternaryGOPS = ternaryGOPS
        self.memoryGBPerSecond = memoryGBPerSecond
        self.modelHashes = modelHashes
        self.adapterHashes = adapterHashes
        self.loadPercent = loadPercent
        self.kernelClass = kernelClass
    }

    /// The canonical encoding (docs/protocol.md). Throws if a field breaks a limit, so an
    /// unsendable profile is caught where it is built, not when a peer rejects it.
    public func encoded() throws(WireError) -> [UInt8] {
        try validate()
        var writer = WireWriter(capacity: 256)
        writer.u8(Self.schemaVersion)
        writer.nodeID(nodeID)
        writer.u64(profileVersion)
        writer.string(cpuModel)
        writer.u16(cores)
        writer.count(isaFeatures.count)
        for feature in isaFeatures { writer.string(feature) }
        writer.u64(ramTotalBytes)
        writer.u64(ramAvailableBytes)
        writer.count(gpus.count)
        for gpu in gpus {
            writer.string(gpu.vendor)
            writer.string(gpu.name)
            writer.u64(gpu.memoryBytes)
        }
        writer.u8(deviceClass.rawValue)
        writer.u64(ternaryGOPS.bitPattern)
        writer.u64(memoryGBPerSecond.bitPattern)
        for hashes in [modelHashes, adapterHashes] {
            writer.count(hashes.count)
            for hash in hashes { writer.fixed(hash) }
        }
        writer.u8(loadPercent)
        writer.string(kernelClass)
        guard writer.bytes.count <= Self.maxEncodedBytes else {
            throw .tooLong(field: "hardware profile", length: writer.bytes.count, limit: Self.maxEncodedBytes)
        }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        guard bytes.count <= Self.maxEncodedBytes else {
            throw .tooLong(field: "hardware profile", length: bytes.count, limit: Self.maxEncodedBytes)
        }
        var reader = WireReader(bytes)
        let schema = try reader.u8("profile schema version")
        guard schema == Self.schemaVersion else { throw .invalidValue(field: "profile schema version", value: UInt64(schema)) }
        nodeID = try reader.nodeID("profile node id")
        profileVersion = try reader.u64("profile version")
        cpuModel = try reader.string("cpu model")
        cores = try reader.u16("cores")
        isaFeatures = []
        for _ in 0..<(try reader.count("isa features")) { isaFeatures.append(try reader.string("isa feature")) }
        ramTotalBytes = try reader.u64("ram total")
        ramAvailableBytes = try reader.u64("ram available")
        gpus = []
        for _ in 0..<(try reader.count("gpus", limit: Self.maxGPUs)) {
            gpus.append(GPU(vendor: try reader.string("gpu vendor"), name: try reader.string("gpu name"),
                            memoryBytes: try reader.u64("gpu memory")))
        }
        let rawClass = try reader.u8("device class")
        guard let deviceClass = DeviceClass(rawValue: rawClass) else { throw .invalidValue(field: "device class", value: UInt64(rawClass)) }
        self.deviceClass = deviceClass
        ternaryGOPS = Double(bitPattern: try reader.u64("ternary GOPS"))
        memoryGBPerSecond = Double(bitPattern: try reader.u64("memory GB/s"))
        var hashLists: [[[UInt8]]] = []
        for field in ["model hashes", "adapter hashes"] {
            var hashes: [[UInt8]] = []
            for _ in 0..<(try reader.count(field)) { hashes.append(try reader.fixed(Self.hashByteCount, field)) }
            hashLists.append(hashes)
        }
        modelHashes = hashLists[0]
        adapterHashes = hashLists[1]
        loadPercent = try reader.u8("load percent")
        kernelClass = try reader.string("kernel class", maxBytes: Self.maxFeatureBytes)
        try reader.expectEnd()
        try validate()
    }

    /// The rules both `encoded()` and the decoder enforce, so every accepted profile is one
    /// that re-encodes to the same bytes.
    private func validate() throws(WireError) {
        for (field, value) in [("ternary GOPS", ternaryGOPS), ("memory GB/s", memoryGBPerSecond)] {
            guard value.isFinite, value.sign == .plus else { throw .invalidValue(field: field, value: value.bitPattern) }
        }
        guard loadPercent <= 100 else { throw .invalidValue(field: "load percent", value: UInt64(loadPercent)) }
        guard ramAvailableBytes <= ramTotalBytes else { throw .invalidValue(field: "ram available", value: ramAvailableBytes) }
        guard gpus.count <= Self.maxGPUs else { throw .tooLong(field: "gpus", length: gpus.count, limit: Self.maxGPUs) }
        for (field, list) in [("isa features", isaFeatures.count), ("model hashes", modelHashes.count), ("adapter hashes", adapterHashes.count)] {
            guard list <= WireLimits.maxListCount else { throw .tooLong(field: field, length: list, limit: WireLimits.maxListCount) }
        }
        guard (1...Self.maxCores).contains(cores) else { throw .invalidValue(field: "cores", value: UInt64(cores)) }
        guard ramTotalBytes <= Self.maxRAMBytes else { throw .invalidValue(field: "ram total", value: ramTotalBytes) }
        guard ternaryGOPS <= Self.maxTernaryGOPS else { throw .invalidValue(field: "ternary GOPS", value: ternaryGOPS.bitPattern) }
        guard memoryGBPerSecond <= Self.maxMemoryGBPerSecond else { throw .invalidValue(field: "memory GB/s", value: memoryGBPerSecond.bitPattern) }
        for gpu in gpus where gpu.memoryBytes > Self.maxGPUMemoryBytes {
            throw .invalidValue(field: "gpu memory", value: gpu.memoryBytes)
        }
        let names = [cpuModel] + gpus.flatMap { [$0.vendor, $0.name] }
        for name in names {
            guard name.utf8.count <= Self.maxNameBytes else { throw .tooLong(field: "profile name", length: name.utf8.count, limit: Self.maxNameBytes) }
            guard Self.isPrintable(name) else { throw .invalidValue(field: "profile name (control character)", value: 0) }
        }
        for feature in isaFeatures {
            guard feature.utf8.count <= Self.maxFeatureBytes else {
                throw .tooLong(field: "isa feature", length: feature.utf8.count, limit: Self.maxFeatureBytes)
            }
            guard !feature.isEmpty, Self.isVisibleASCII(feature) else {
                throw .invalidValue(field: "isa feature (not printable ASCII)", value: 0)
            }
        }
        guard kernelClass.utf8.count <= Self.maxFeatureBytes else {
            throw .tooLong(field: "kernel class", length: kernelClass.utf8.count, limit: Self.maxFeatureBytes)
        }
        guard Self.isVisibleASCII(kernelClass) else {
            throw .invalidValue(field: "kernel class (not printable ASCII)", value: 0)
        }
        for hash in modelHashes + adapterHashes where hash.count != Self.hashByteCount {
            throw .invalidValue(field: "content hash length", value: UInt64(hash.count))
        }
    }
}

extension HardwareProfile {
    /// No control or format characters (terminal escapes, bidirectional overrides).
    static func isPrintable(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy {
            $0.properties.generalCategory != .control && $0.properties.generalCategory != .format
        }
    }

    /// Printable ASCII without spaces: names a program matches on (ISA features, kernel class).
    static func isVisibleASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}

/// A hardware profile with its owner's signature. Signing uses a context prefix so a
/// profile signature can never be replayed as an envelope signature or the reverse.
public struct SignedProfile: Equatable, Sendable {
    static let signingContext: [UInt8] = Array("tern/hardware-profile/1".utf8)

    public let profile: HardwareProfile
    /// The canonical encoding the signature covers (kept so relays forward it byte for byte).
    public let encodedProfile: [UInt8]
    public let signature: [UInt8]

    public var nodeID: NodeID { profile.nodeID }
    public var version: UInt64 { profile.profileVersion }
    /// Bytes this record takes inside a gossip message.
    public var wireSize: Int { 2 + encodedProfile.count + signature.count }

    /// Signs `profile`; `signer` must be the profile's node.
    public init(profile: HardwareProfile, signer: some EnvelopeSigner) throws(WireError) {
        guard signer.nodeID == profile.nodeID else { throw .invalidValue(field: "profile signer", value: 0) }
        let encoded = try profile.encoded()
        self.profile = profile
        self.encodedProfile = encoded
        self.signature = signer.sign(Self.signingContext + encoded)
    }

    /// Decodes a record; the signature is checked separately by `hasValidSignature`.
    public init(encodedProfile: [UInt8], signature: [UInt8]) throws(WireError) {
        guard signature.count == NodeIdentity.signatureByteCount else {
            throw .invalidValue(field: "profile signature length", value: UInt64(signature.count))
        }
        self.profile = try HardwareProfile(decoding: encodedProfile)
        self.encodedProfile = encodedProfile
        self.signature = signature
    }

    public var hasValidSignature: Bool {
        NodeIdentity.verify(signature: signature, message: Self.signingContext + encodedProfile, signer: profile.nodeID)
    }

    func write(to writer: inout WireWriter) {
        writer.blob(encodedProfile)
        writer.fixed(signature)
    }

    static func read(from reader: inout WireReader) throws(WireError) -> SignedProfile {
        let encoded = try reader.blob("profile", maxBytes: HardwareProfile.maxEncodedBytes)
        let signature = try reader.fixed(NodeIdentity.signatureByteCount, "profile signature")
        return try SignedProfile(encodedProfile: encoded, signature: signature)
    }
}
