import Foundation

/// Pure parsers for the Linux `/proc` files hardware detection reads.
enum ProcFileParsers {
    struct CPUInfo: Equatable {
        var model: String?
        var logicalCores: Int
        var flags: Set<String>
        /// Set by arm-only fields (`CPU implementer`), which x86 kernels never print.
        var isARM: Bool
    }

    /// `/proc/cpuinfo`: one block per logical CPU. The model is `model name` (x86, most
    /// arm64 kernels) or `Hardware` / `Processor` (older arm kernels); flags come from
    /// `flags` (x86) or `Features` (arm).
    static func cpuInfo(_ text: String) -> CPUInfo {
        var info = CPUInfo(model: nil, logicalCores: 0, flags: [], isARM: false)
        var fallbackModel: String?
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "processor": info.logicalCores += 1
            case "model name" where info.model == nil && !value.isEmpty: info.model = value
            case "Hardware", "Processor": if fallbackModel == nil, !value.isEmpty { fallbackModel = value }
            case "flags", "Features": info.flags.formUnion(value.split(separator: " ").map(String.init))
            case "CPU implementer": info.isARM = true
            default: break
            }
        }
        info.model = info.model ?? fallbackModel
        return info
    }

    /// Kernel flag spellings → the engine's feature names (order of `CPUFeatures.names`).
    static let isaFlagNames: [(feature: String, flags: [String])] = [
        ("avx2", ["avx2"]),
        ("avx512f", ["avx512f"]),
        ("avx512bw", ["avx512bw"]),
        ("avx512vnni", ["avx512_vnni", "avx512vnni"]),
        ("avx512bf16", ["avx512_bf16", "avx512bf16"]),
        ("neon", ["asimd", "neon"]),
        ("dotprod", ["asimddp"]),
    ]

    static func isaFeatures(flags: Set<String>) -> [String] {
        isaFlagNames.filter { !flags.isDisjoint(with: $0.flags) }.map(\.feature)
    }

    /// `/proc/meminfo` (values in kB) → (total, available) bytes. Kernels before 3.14 lack
    /// `MemAvailable`; free + buffers + page cache approximates it there.
    static func memInfo(_ text: String) -> (total: UInt64, available: UInt64)? {
        var kilobytes: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            if fields.count >= 2, let value = UInt64(fields[1]) { kilobytes[String(fields[0])] = value }
        }
        guard let total = kilobytes["MemTotal"] else { return nil }
        let available = kilobytes["MemAvailable"]
            ?? (kilobytes["MemFree"] ?? 0) + (kilobytes["Buffers"] ?? 0) + (kilobytes["Cached"] ?? 0)
        return (total * 1024, min(available, total) * 1024)
    }

    /// `/proc/loadavg`: "0.48 0.93 0.80 1/234 5678".
    static func loadAverage(_ text: String) -> DetectedHardware.Load? {
        let fields = text.split(separator: " ").prefix(3).compactMap { Double($0) }
        guard fields.count == 3 else { return nil }
        return DetectedHardware.Load(one: fields[0], five: fields[1], fifteen: fields[2])
    }

    /// `/sys/devices/system/cpu/online`: "0-3,6,8-9" → 7.
    static func cpuListCount(_ text: String) -> Int? {
        var count = 0
        for range in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let bounds = range.split(separator: "-").compactMap { Int($0) }
            switch bounds.count {
            case 1: count += 1
            case 2 where bounds[1] >= bounds[0]: count += bounds[1] - bounds[0] + 1
            default: return nil
            }
        }
        return count > 0 ? count : nil
    }
}
