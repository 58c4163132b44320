import CTernary

/// SIMD features of the running CPU, as the kernel dispatcher sees them.
public struct CPUFeatures: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let avx2 = CPUFeatures(rawValue: TERN_CPU_AVX2.rawValue)
    public static let avx512f = CPUFeatures(rawValue: TERN_CPU_AVX512F.rawValue)
    public static let avx512bw = CPUFeatures(rawValue: TERN_CPU_AVX512BW.rawValue)
    public static let avx512vnni = CPUFeatures(rawValue: TERN_CPU_AVX512VNNI.rawValue)
    public static let avx512bf16 = CPUFeatures(rawValue: TERN_CPU_AVX512BF16.rawValue)
    public static let neon = CPUFeatures(rawValue: TERN_CPU_NEON.rawValue)
    public static let dotprod = CPUFeatures(rawValue: TERN_CPU_DOTPROD.rawValue)

    /// Features of this machine's CPU.
    public static var current: CPUFeatures { CPUFeatures(rawValue: tern_cpu_features()) }

    /// Lower-case names of the features present, e.g. `["avx2", "avx512f", "avx512vnni"]`.
    public var names: [String] {
        let all: [(CPUFeatures, String)] = [
            (.avx2, "avx2"), (.avx512f, "avx512f"), (.avx512bw, "avx512bw"),
            (.avx512vnni, "avx512vnni"), (.avx512bf16, "avx512bf16"),
            (.neon, "neon"), (.dotprod, "dotprod"),
        ]
        return all.filter { contains($0.0) }.map(\.1)
    }
}
