import CTernary

/// Which implementation of a float or quantized kernel runs. `.automatic` picks the best
/// one for this CPU, as the calling thread's `KernelClass` allows; the named ones exist so
/// tests and benchmarks can compare them.
public enum FloatKernelVariant: Int32, CaseIterable, Sendable, CustomStringConvertible {
    case automatic = 0
    case scalar = 1
    case avx2 = 2
    /// AVX-512 F/BW/VL; BF16 dot products and VNNI int8 products where present.
    case avx512 = 3
    case neon = 4

    var raw: tern_float_variant { tern_float_variant(rawValue: UInt32(rawValue)) }

    /// Whether the float kernels (GEMM, norms, softmax, RoPE, activations) can run.
    public var supportsFloatKernels: Bool { tern_float_variant_supported(raw) != 0 }
    /// Whether the block-quantized matmul can run (AVX-512 needs VNNI).
    public var supportsQuantKernels: Bool { tern_quant_variant_supported(raw) != 0 }

    /// The variant `.automatic` resolves to for float kernels on the calling thread.
    public static var bestFloat: FloatKernelVariant {
        FloatKernelVariant(rawValue: Int32(tern_float_variant_best().rawValue)) ?? .scalar
    }

    public var description: String {
        switch self {
        case .automatic: return "automatic"
        case .scalar: return "scalar"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        case .neon: return "neon"
        }
    }
}
