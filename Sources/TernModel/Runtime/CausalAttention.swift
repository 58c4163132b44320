import TernKernels

/// Grouped-query causal attention over a KV cache, in float32:
/// out[t][h] = Σ_j softmax_j(q[t][h]·k[j][h/g] / √d) · v[j][h/g] for j ≤ start + t,
/// where g = heads / kvHeads query heads share one KV head.
struct CausalAttention {
    let heads: Int
    let kvHeads: Int
    let headDimension: Int

    /// - Parameters:
    ///   - queries: tokens × heads × headDimension, already rotated.
    ///   - keys, values: the layer's cache from position 0, holding positions 0..<start+tokens.
    ///   - scores: scratch of at least start + tokens floats.
    ///   - out: tokens × heads × headDimension.
    func run(queries: UnsafeBufferPointer<Float>, tokens: Int, start: Int,
             keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
             scores: UnsafeMutableBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) throws {
        let d = headDimension
        let kvStride = kvHeads * d
        let group = heads / kvHeads
        let scale = 1 / Float(d).squareRoot()
        for t in 0..<tokens {
            let visible = start + t + 1
            for h in 0..<heads {
                let q = queries.baseAddress! + (t * heads + h) * d
                let kvOffset = (h / group) * d
                for j in 0..<visible {
                    let k = keys + j * kvStride + kvOffset
                    var dot: Float = 0
                    for i in 0..<d { dot += q[i] * k[i] }
                    scores[j] = dot * scale
                }
                let row = UnsafeMutableBufferPointer(rebasing: scores[0..<visible])
                try FloatKernels.softmax(UnsafeBufferPointer(row), columns: visible, into: row)
                let o = out.baseAddress! + (t * heads + h) * d
                o.initialize(repeating: 0, count: d)
                for j in 0..<visible {
                    let v = values + j * kvStride + kvOffset
                    let w = row[j]
                    for i in 0..<d { o[i] += w * v[i] }
                }
            }
        }
    }
}
