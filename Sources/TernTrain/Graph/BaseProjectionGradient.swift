import TernKernels

extension Linear {
    /// dx = Wᵀ·g through the frozen weights in their stored form (ternary T5, block-quant
    /// or float; never expanded), times the per-tensor output scale if there is one.
    /// `g` is tokens × outputCount, `dx` tokens × inputCount (overwritten).
    func inputGradient(_ g: UnsafeBufferPointer<Float>, tokens: Int, into dx: UnsafeMutableBufferPointer<Float>,
                       pool: ThreadPool?) throws {
        switch weights {
        case .ternary(let m): try m.transposedProduct(g, tokens: tokens, into: dx, pool: pool)
        case .blockQuant(let m): try BlockQuantKernels.matmulTransposed(g, rows: tokens, weights: m, into: dx, pool: pool)
        case .float(let m): try FloatKernels.matmulTransposed(g, rows: tokens, weights: m, into: dx, pool: pool)
        }
        if let outputScale {
            for i in dx.indices { dx[i] *= outputScale }
        }
    }
}
