import TernKernels

/// Int8 activation buffers by shape (tokens × cols), made on first use and reused: the
/// quantized inputs of the forward projections and the rounded gradients of the
/// transposed ternary products.
final class ActivationCache {
    private var buffers: [Int: QuantizedActivations] = [:]

    func buffer(tokens: Int, cols: Int) -> QuantizedActivations {
        let key = tokens << 32 | cols
        if let a = buffers[key] { return a }
        let a = QuantizedActivations(tokens: tokens, cols: cols)
        buffers[key] = a
        return a
    }
}

/// How the input gradient of a frozen ternary projection is computed.
public enum TernaryGradientPath: String, Sendable, CaseIterable {
    /// Wᵀ·g in float32 from the packed weights: exact, no extra memory, slow on big matrices.
    case float
    /// A transposed T5 copy of each ternary weight and the int8 GEMM on the per-token
    /// rounded gradient: one more 1.6-bit copy of the weights, much faster.
    case int8
}
