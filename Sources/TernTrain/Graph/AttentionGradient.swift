import TernKernels

/// Causal grouped-query attention over one training sequence (positions 0..<n), forward and
/// backward, in float32. The forward does the arithmetic of the runtime's attention in the
/// same order, so training logits equal inference logits bit for bit. The backward
/// recomputes each row of probabilities from the saved Q and K instead of storing n² of them.
public struct AttentionGradient: Sendable {
    public let heads: Int
    public let kvHeads: Int
    public let headDimension: Int

    public init(heads: Int, kvHeads: Int, headDimension: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension
    }

    private var group: Int { heads / kvHeads }
    private var scale: Float { 1 / Float(headDimension).squareRoot() }

    /// Softmax row of query (t, h) over keys 0...t into `p`.
    private func probabilities(t: Int, h: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                               into p: UnsafeMutableBufferPointer<Float>) throws -> UnsafeMutableBufferPointer<Float> {
        let d = headDimension, kvStride = kvHeads * d
        let query = q + (t * heads + h) * d
        let kvOffset = (h / group) * d
        for j in 0...t {
            let key = k + j * kvStride + kvOffset
            var dot: Float = 0
            for i in 0..<d { dot += query[i] * key[i] }
            p[j] = dot * scale
        }
        let row = UnsafeMutableBufferPointer(rebasing: p[0...t])
        try FloatKernels.softmax(UnsafeBufferPointer(row), columns: t + 1, into: row)
        return row
    }

    /// out[t][h] = Σ_{j≤t} p_j · v[j][h/g]. `scores` holds at least n floats.
    public func forward(q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>,
                 tokens n: Int, scores: UnsafeMutableBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) throws {
        let d = headDimension, kvStride = kvHeads * d
        for t in 0..<n {
            for h in 0..<heads {
                let p = try probabilities(t: t, h: h, q: q.baseAddress!, k: k.baseAddress!, into: scores)
                let o = out.baseAddress! + (t * heads + h) * d
                o.initialize(repeating: 0, count: d)
                let kvOffset = (h / group) * d
                for j in 0...t {
                    let value = v.baseAddress! + j * kvStride + kvOffset
                    let w = p[j]
                    for i in 0..<d { o[i] += w * value[i] }
                }
            }
        }
    }

    /// Gradients of q, k, v (overwritten) from the gradient of the output:
    /// dv_j += p_j·dO, ds_j = p_j·(dO·v_j − Σ p·(dO·v)), dq += ds_j·k_j/√d, dk_j += ds_j·q/√d.
    /// `scores` and `scratch` hold at least n floats each.
    public func backward(q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>,
                  tokens n: Int, outputGradient g: UnsafeBufferPointer<Float>,
                  scores: UnsafeMutableBufferPointer<Float>, scratch dp: UnsafeMutableBufferPointer<Float>,
                  queryGradient dq: UnsafeMutableBufferPointer<Float>, keyGradient dk: UnsafeMutableBufferPointer<Float>,
                  valueGradient dv: UnsafeMutableBufferPointer<Float>) throws {
        let d = headDimension, kvStride = kvHeads * d
        dq.update(repeating: 0)
        dk.update(repeating: 0)
        dv.update(repeating: 0)
        let qp = q.baseAddress!, kp = k.baseAddress!, vp = v.baseAddress!
        for t in 0..<n {
            for h in 0..<heads {
                let p = try probabilities(t: t, h: h, q: qp, k: kp, into: scores)
                let kvOffset = (h / group) * d
                let dO = g.baseAddress! + (t * heads + h) * d
                var weighted: Float = 0
                for j in 0...t {
                    let value = vp + j * kvStride + kvOffset
                    var dot: Float = 0
                    for i in 0..<d { dot += dO[i] * value[i] }
                    dp[j] = dot
                    weighted += p[j] * dot
                }
                let query = qp + (t * heads + h) * d
                let dQuery = dq.baseAddress! + (t * heads + h) * d
                for j in 0...t {
                    let ds = p[j] * (dp[j] - weighted) * scale
                    let pj = p[j]
                    let key = kp + j * kvStride + kvOffset
                    let dKey = dk.baseAddress! + j * kvStride + kvOffset
                    let dValue = dv.baseAddress! + j * kvStride + kvOffset
                    for i in 0..<d {
                        dQuery[i] += ds * key[i]
                        dKey[i] += ds * query[i]
                        dValue[i] += pj * dO[i]
                    }
                }
            }
        }
    }
}
