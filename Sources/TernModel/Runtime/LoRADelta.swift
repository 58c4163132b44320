import TernKernels

/// The unmerged low-rank term of one projection: Δy = scale · B · (A · x), in float32 in
/// every precision mode (as llama.cpp applies `--lora`), added to the base product before
/// the projection's per-tensor output scale (also llama.cpp's order). The base weights stay
/// in their stored form; only A (rank × inputs) and B (outputs × rank) are held as F32.
struct LoRADelta: Sendable {
    let a: FloatMatrix
    let b: FloatMatrix
    let scale: Float

    init(_ weights: LoRAWeights, scale: Float) throws {
        a = try FloatMatrix(rows: weights.rank, cols: weights.inputs, values: weights.a)
        b = try FloatMatrix(rows: weights.outputs, cols: weights.rank, values: weights.b)
        self.scale = scale
    }

    /// y[t·outputs + o] += scale · Σ_k B[o][k] · (A·x_t)[k] for each of `tokens` rows of `x`.
    func add(_ x: UnsafeBufferPointer<Float>, tokens: Int, into y: UnsafeMutableBufferPointer<Float>, pool: ThreadPool?) throws {
        var low = [Float](repeating: 0, count: tokens * a.rows)
        var delta = [Float](repeating: 0, count: tokens * b.rows)
        try low.withUnsafeMutableBufferPointer { try FloatKernels.matmul(x, rows: tokens, weights: a, into: $0, pool: pool) }
        try low.withUnsafeBufferPointer { lowValues in
            try delta.withUnsafeMutableBufferPointer { try FloatKernels.matmul(lowValues, rows: tokens, weights: b, into: $0, pool: pool) }
        }
        guard y.count == delta.count else {
            throw TensorShapeError("LoRA delta for \(tokens) tokens: expected \(delta.count) outputs, got \(y.count)")
        }
        for i in y.indices { y[i] += scale * delta[i] }
    }
}

extension Linear {
    /// This projection with `adapter`'s pair for (`layer`, `target`) attached, if it has one.
    func attaching(_ adapter: LoRAAdapter?, layer: Int, target: LoRATarget) throws -> Linear {
        guard let weights = adapter?.weights[LoRASite(layer: layer, target: target)], let adapter else { return self }
        var linear = self
        linear.lora = try LoRADelta(weights, scale: adapter.scale)
        return linear
    }
}
