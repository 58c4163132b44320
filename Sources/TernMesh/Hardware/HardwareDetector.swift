import Foundation

/// Reads this machine's hardware from the operating system. On Linux every file is read
/// under `root`, so tests run it against fixture trees of fake `/proc` and `/sys` files.
public struct HardwareDetector: Sendable {
    public var root: String
    /// Set when the operator states the device class instead of trusting the guess.
    public var deviceClassOverride: DetectedHardware.DeviceClass?

    public init(root: String = "/", deviceClassOverride: DetectedHardware.DeviceClass? = nil) {
        self.root = root
        self.deviceClassOverride = deviceClassOverride
    }

    public func detect() throws -> DetectedHardware {
        #if os(macOS)
        return try detectDarwin()
        #else
        return try detectLinux()
        #endif
    }

    /// Always available (also on macOS) so the Linux logic is testable everywhere.
    public func detectLinux() throws -> DetectedHardware {
        let files = SystemFiles(root: root)
        let cpu = ProcFileParsers.cpuInfo(try files.require("/proc/cpuinfo"))
        guard let memory = ProcFileParsers.memInfo(try files.require("/proc/meminfo")) else {
            throw HardwareDetectionError.malformed(path: "/proc/meminfo", why: "no MemTotal line")
        }
        guard let load = ProcFileParsers.loadAverage(try files.require("/proc/loadavg")) else {
            throw HardwareDetectionError.malformed(path: "/proc/loadavg", why: "expected three load averages")
        }
        let cores = cpu.logicalCores > 0
            ? cpu.logicalCores
            : files.read("/sys/devices/system/cpu/online").flatMap(ProcFileParsers.cpuListCount) ?? 1
        let scanner = GPUScanner(files: files)
        let deviceClass = deviceClassOverride ?? DeviceClassifier.classify(.init(
            isARM: cpu.isARM,
            ramTotalBytes: memory.total,
            logicalCores: cores,
            hasBattery: files.list("/sys/class/power_supply").contains {
                files.value("/sys/class/power_supply/\($0)/type") == "Battery"
            },
            hasDRMCard: scanner.hasDRMCard,
            hasDisplayConnector: scanner.hasDisplayConnector,
            hasECC: !files.list("/sys/devices/system/edac/mc").filter { $0.hasPrefix("mc") }.isEmpty,
            isVirtualized: cpu.flags.contains("hypervisor")))
        return DetectedHardware(
            cpuModel: cpu.model ?? files.value("/sys/firmware/devicetree/base/model") ?? "unknown CPU",
            logicalCores: cores,
            isaFeatures: ProcFileParsers.isaFeatures(flags: cpu.flags),
            ramTotalBytes: memory.total,
            ramAvailableBytes: memory.available,
            gpus: scanner.scan(),
            deviceClass: deviceClass,
            load: load)
    }

    #if os(macOS)
    /// macOS: sysctl for CPU, memory and ISA; the GPU is the SoC's (Apple silicon) and
    /// shares system memory.
    private func detectDarwin() throws -> DetectedHardware {
        func integer(_ name: String) -> Int64? {
            var value: Int64 = 0
            var size = MemoryLayout<Int64>.size
            guard sysctlbyname(name, &value, &size, nil, 0) == 0 else { return nil }
            return size == 4 ? Int64(Int32(truncatingIfNeeded: value)) : value
        }
        func string(_ name: String) -> String? {
            var size = 0
            guard sysctlbyname(name, nil, &size, nil, 0) == 0, size > 0 else { return nil }
            var bytes = [CChar](repeating: 0, count: size)
            guard sysctlbyname(name, &bytes, &size, nil, 0) == 0 else { return nil }
            return String(cString: bytes)
        }
        let features: [(String, String)] = [
            ("avx2", "hw.optional.avx2_0"), ("avx512f", "hw.optional.avx512f"), ("avx512bw", "hw.optional.avx512bw"),
            ("avx512vnni", "hw.optional.avx512vnni"), ("neon", "hw.optional.neon"),
            ("dotprod", "hw.optional.arm.FEAT_DotProd"),
        ]
        let ram = UInt64(integer("hw.memsize") ?? 0)
        var loads = [Double](repeating: 0, count: 3)
        _ = getloadavg(&loads, 3)
        let isAppleSilicon = (integer("hw.optional.arm64") ?? 0) == 1
        return DetectedHardware(
            cpuModel: string("machdep.cpu.brand_string") ?? "unknown CPU",
            logicalCores: Int(integer("hw.logicalcpu") ?? 1),
            isaFeatures: features.filter { (integer($0.1) ?? 0) != 0 }.map(\.0),
            ramTotalBytes: ram,
            ramAvailableBytes: min(ram, availableMemoryDarwin(pageSize: UInt64(integer("hw.pagesize") ?? 4096))),
            gpus: isAppleSilicon ? [DetectedHardware.GPU(vendor: "Apple", name: "Apple GPU", memoryBytes: nil, pciSlot: nil)] : [],
            deviceClass: deviceClassOverride ?? .desktop,
            load: DetectedHardware.Load(one: loads[0], five: loads[1], fifteen: loads[2]))
    }

    /// Free plus inactive (reclaimable) pages, the closest match to Linux's MemAvailable.
    private func availableMemoryDarwin(pageSize: UInt64) -> UInt64 {
        var stats = vm_statistics64_data_t()
        var count = mach_msg_type_number_t(MemoryLayout<vm_statistics64_data_t>.size / MemoryLayout<integer_t>.size)
        let status = withUnsafeMutablePointer(to: &stats) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                host_statistics64(mach_host_self(), HOST_VM_INFO64, $0, &count)
            }
        }
        guard status == KERN_SUCCESS else { return 0 }
        return (UInt64(stats.free_count) + UInt64(stats.inactive_count)) * pageSize
    }
    #endif
}
