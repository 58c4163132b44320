import TernKernels

/// Causal grouped-query attention over one training sequence (positions 0..<n), forward and
/// backward, in float32. The forward does the arithmetic of the runtime's attention in the
/// same order, so training logits equal inference logits bit for bit. The backward
/// recomputes each row of probabilities from the saved Q and K instead of storing n² of
/// them. Heads (forward) and KV groups (backward) run in parallel on the pool; each writes only its
/// own slices, so results do not depend on the thread count.
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
                               into p: UnsafeMutablePointer<Float>) throws -> UnsafeMutableBufferPointer<Float> {
        let d = headDimension, kvStride = kvHeads * d
        let query = q + (t * heads + h) * d
        let kvOffset = (h / group) * d
        for j in 0...t {
            let key = k + j * kvStride + kvOffset
            var dot: Float = 0
            for i in 0..<d { dot += query[i] * key[i] }
            p[j] = dot * scale
        }
        let row = UnsafeMutableBufferPointer(start: p, count: t + 1)
        try FloatKernels.softmax(UnsafeBufferPointer(row), columns: t + 1, into: row)
        return row
    }

    /// out[t][h] = Σ_{j≤t} p_j · v[j][h/g].
    public func forward(q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>,
                        tokens n: Int, into out: UnsafeMutableBufferPointer<Float>, pool: ThreadPool? = nil) throws {
        let d = headDimension, kvStride = kvHeads * d
        let shared = SharedPointers(q: q.baseAddress!, k: k.baseAddress!, v: v.baseAddress!, out: out.baseAddress!,
                                    scratch: .allocate(capacity: heads * n), failures: .init(count: heads))
        defer { shared.scratch.deallocate() }
        PoolTasks.run(pool, tasks: heads) { h in
            do {
                for t in 0..<n {
                    let p = try probabilities(t: t, h: h, q: shared.q, k: shared.k, into: shared.scratch + h * n)
                    let o = shared.out + (t * heads + h) * d
                    o.initialize(repeating: 0, count: d)
                    let kvOffset = (h / group) * d
                    for j in 0...t {
                        let value = shared.v + j * kvStride + kvOffset
                        let w = p[j]
                        for i in 0..<d { o[i] += w * value[i] }
                    }
                }
            } catch {
                shared.failures.record(error, at: h)
            }
        }
        try shared.failures.rethrow()
    }

    /// Gradients of q, k, v (overwritten) from the gradient of the output:
    /// dv_j += p_j·dO, ds_j = p_j·(dO·v_j − Σ p·(dO·v)), dq += ds_j·k_j/√d, dk_j += ds_j·q/√d.
    public func backward(q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>,
                         tokens n: Int, outputGradient g: UnsafeBufferPointer<Float>,
                         queryGradient dq: UnsafeMutableBufferPointer<Float>, keyGradient dk: UnsafeMutableBufferPointer<Float>,
                         valueGradient dv: UnsafeMutableBufferPointer<Float>, pool: ThreadPool? = nil) throws {
        let d = headDimension, kvStride = kvHeads * d
        dq.update(repeating: 0)
        dk.update(repeating: 0)
        dv.update(repeating: 0)
        let shared = SharedPointers(q: q.baseAddress!, k: k.baseAddress!, v: v.baseAddress!, out: dq.baseAddress!,
                                    scratch: .allocate(capacity: kvHeads * 2 * n), failures: .init(count: kvHeads))
        defer { shared.scratch.deallocate() }
        let gradients = SharedGradients(g: g.baseAddress!, dk: dk.baseAddress!, dv: dv.baseAddress!)
        // One task per KV head: its query heads are the only writers of its dK and dV.
        PoolTasks.run(pool, tasks: kvHeads) { kvHead in
            let scores = shared.scratch + kvHead * 2 * n, dp = scores + n
            let kvOffset = kvHead * d
            do {
                for h in (kvHead * group)..<((kvHead + 1) * group) {
                    for t in 0..<n {
                        let p = try probabilities(t: t, h: h, q: shared.q, k: shared.k, into: scores)
                        let dO = gradients.g + (t * heads + h) * d
                        var weighted: Float = 0
                        for j in 0...t {
                            let dot = Self.dot(dO, shared.v + j * kvStride + kvOffset, count: d)
                            dp[j] = dot
                            weighted += p[j] * dot
                        }
                        let query = shared.q + (t * heads + h) * d
                        let dQuery = shared.out + (t * heads + h) * d
                        for j in 0...t {
                            let pj = p[j]
                            let ds = pj * (dp[j] - weighted) * scale
                            let key = shared.k + j * kvStride + kvOffset
                            let dKey = gradients.dk + j * kvStride + kvOffset
                            let dValue = gradients.dv + j * kvStride + kvOffset
                            for i in 0..<d {
                                dQuery[i] += ds * key[i]
                                dKey[i] += ds * query[i]
                                dValue[i] += pj * dO[i]
                            }
                        }
                    }
                }
            } catch {
                shared.failures.record(error, at: kvHead)
            }
        }
        try shared.failures.rethrow()
    }

    /// A dot product over eight independent lanes (vectorizes; the order differs from a
    /// plain running sum, which only the forward pass must reproduce).
    @inline(__always)
    private static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            lanes += x * y
            i += 8
        }
        var sum = lanes.sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }
}

/// The buffers the parallel tasks share. Each task writes disjoint slices, which the
/// compiler cannot see, hence `@unchecked Sendable`.
private struct SharedPointers: @unchecked Sendable {
    let q, k, v: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>
    let failures: TaskFailures
}

private struct SharedGradients: @unchecked Sendable {
    let g: UnsafePointer<Float>
    let dk, dv: UnsafeMutablePointer<Float>
}

/// The first error of a set of parallel tasks, each task writing only its own slot.
private final class TaskFailures: @unchecked Sendable {
    private var errors: [Error?]

    init(count: Int) { errors = Array(repeating: nil, count: count) }

    func record(_ error: Error, at task: Int) { errors[task] = error }

    func rethrow() throws {
        if let error = errors.compactMap({ $0 }).first { throw error }
    }
}
