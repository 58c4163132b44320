import TernKernels

/// Wᵀ of a frozen ternary projection, repacked once into the engine's T5 layout with unit
/// scales, so that the input gradient dx = Wᵀ·g runs on the int8 ternary GEMM (the fast
/// forward kernel) instead of the float transposed product: dx = Wᵀ·q(s ⊙ g), where s is
/// W's row scale (times the per-tensor output scale) and q the per-token int8 rounding of
/// the scaled gradient. Costs one more copy of the ternary weights (1.6 bits each) and the
/// int8 rounding of g; the float path is exact but about a hundred times slower on the
/// 2560 × 6912 projections of a 2B model.
final class TransposedTernary {
    /// inputs × outputs trits.
    let matrix: TernaryMatrix
    /// Per output row of W: the factor g is scaled by before rounding.
    let scales: [Float]

    init(_ linear: Linear) throws {
        guard case .ternary(let w) = linear.weights else {
            throw TrainingError.invalidOption("\(linear.name) is not ternary: no transposed int8 copy")
        }
        let rows = w.rows, cols = w.cols
        var trits = [Float](repeating: 0, count: rows * cols)
        var scales = [Float](repeating: 0, count: rows)
        // Rows are decoded a block at a time and written column by column, so each write
        // lands next to the previous one instead of a whole row further on.
        let block = 64
        trits.withUnsafeMutableBufferPointer { t in
            for r0 in stride(from: 0, to: rows, by: block) {
                let r1 = min(rows, r0 + block)
                let decoded = (r0..<r1).map { r -> [Float] in
                    let scale = w.scale(row: r)
                    scales[r] = scale * (linear.outputScale ?? 1)
                    // values are scale·{−1, 0, 1}: the trit is the sign relative to the scale's.
                    return scale == 0 ? [Float](repeating: 0, count: cols)
                        : w.values(row: r).map { $0 == 0 ? 0 : ($0 > 0) == (scale > 0) ? 1 : -1 }
                }
                for c in 0..<cols {
                    for r in r0..<r1 { t[c * rows + r] = decoded[r - r0][c] }
                }
            }
        }
        let bytes = try TernaryEncoding.i2s.encode(trits, rows: cols, cols: rows)
        matrix = try TernaryMatrix.repacking(bytes, encoding: .i2s, rows: cols, cols: rows)
        self.scales = scales
    }

    /// dx (tokens × inputs, overwritten) from g (tokens × outputs). `scaled` is scratch of
    /// g's size; `activations` an int8 buffer of tokens × outputs.
    func inputGradient(_ g: UnsafeBufferPointer<Float>, tokens: Int, scaled: UnsafeMutableBufferPointer<Float>,
                       activations: QuantizedActivations, into dx: UnsafeMutableBufferPointer<Float>, pool: ThreadPool?) throws {
        let outputs = scales.count
        let source = g.baseAddress!, target = scaled.baseAddress!
        // Rows split over the pool: this and the rounding below are the serial part of a
        // backward projection.
        let tasks = min(tokens, 4 * (pool?.threadCount ?? 1))
        scales.withUnsafeBufferPointer { s in
            let factors = s.baseAddress!
            PoolTasks.run(pool, tasks: tasks) { task, _ in
                for t in stride(from: task, to: tokens, by: tasks) {
                    let from = source + t * outputs, to = target + t * outputs
                    for r in 0..<outputs { to[r] = from[r] * factors[r] }
                }
            }
        }
        try activations.quantize(UnsafeBufferPointer(scaled))
        try matrix.gemm(activations, into: dx, pool: pool)
    }
}
