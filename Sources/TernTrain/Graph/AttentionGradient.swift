import CTernary
import TernKernels

/// Causal grouped-query attention over one training sequence (positions 0..<n), forward and
/// backward, in float32 on the engine's float GEMM.
///
/// Work is split into (KV head, chunk of `chunkTokens` query tokens) tasks on the pool. A
/// task stacks the queries of every query head that shares its KV head (rows (token,
/// member)), scaled by 1/√d, multiplies them with the keys up to the chunk's last token
/// (S = Q·Kᵀ), applies the causal softmax row by row and multiplies by the values, as the
/// inference runtime does. The backward recomputes P that way instead of keeping n² of
/// them, then dP = dO·Vᵀ, dS = P⊙(dP − Σⱼ P⊙dP), dQ = dS·K/√d, and writes the chunk's
/// share of dK = dSᵀ·Q/√d and dV = Pᵀ·dO to its own partial buffers, which are summed per
/// KV head in chunk order afterwards. No task depends on the thread that runs it and every
/// sum has a fixed order, so results are identical for any thread count.
public final class AttentionGradient {
    public let heads: Int
    public let kvHeads: Int
    public let headDimension: Int
    /// Query tokens per task: enough rows for the GEMMs, few enough that the causal
    /// triangle wastes little work.
    public let chunkTokens: Int
    private let scratch = ScratchArena()

    public init(heads: Int, kvHeads: Int, headDimension: Int, chunkTokens: Int = 32) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension
        self.chunkTokens = max(1, chunkTokens)
    }

    private var group: Int { heads / kvHeads }
    private var scale: Float { 1 / Float(headDimension).squareRoot() }

    /// out[t][h] = Σ_{j≤t} p_j · v[j][h/g].
    public func forward(q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>,
                        tokens n: Int, into out: UnsafeMutableBufferPointer<Float>, pool: ThreadPool? = nil) throws {
        try checkShapes(tokens: n, q: q.count, k: k.count, v: v.count, outputs: [out.count])
        let d = headDimension, g = group, c = chunkTokens
        let chunks = (n + c - 1) / c
        let keys = headMajor(k, tokens: n, role: "attention.keys"), values = headMajor(v, tokens: n, role: "attention.values")
        let rowsMax = c * g
        let perThread = 2 * rowsMax * d + rowsMax * n
        let threadScratch = scratch.buffer("attention.thread", count: (pool?.threadCount ?? 1) * perThread).baseAddress!
        let qBase = q.baseAddress!, outBase = out.baseAddress!
        let failures = TaskFailures(count: kvHeads * chunks)
        let variant = tern_float_variant_best()  // on this thread: its kernel class
        PoolTasks.run(pool, tasks: kvHeads * chunks) { task, thread in
            let kvHead = task / chunks, first = (task % chunks) * c
            let count = min(c, n - first), rows = count * g, visible = first + count
            let qs = threadScratch + thread * perThread, o = qs + rowsMax * d, p = o + rowsMax * d
            let kh = keys + kvHead * n * d, vh = values + kvHead * n * d
            gatherRows(qBase, first: first, count: count, kvHead: kvHead, scale: scale, into: qs)
            var status = tern_gemm_f(nil, variant, TERN_F32, qs, rows, d, kh, visible, p)
            if status == kernelOK { status = causalSoftmax(p, rows: rows, visible: visible, first: first, variant: variant) }
            if status == kernelOK { status = tern_gemm_t_f(nil, variant, TERN_F32, p, rows, visible, vh, d, o) }
            guard status == kernelOK else { return failures.record(status, at: task) }
            scatterRows(o, first: first, count: count, kvHead: kvHead, scale: 1, into: outBase)
        }
        try failures.rethrow()
    }

    /// Gradients of q, k, v (overwritten) from the gradient of the output.
    public func backward(q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>,
                         tokens n: Int, outputGradient gOut: UnsafeBufferPointer<Float>,
                         queryGradient dq: UnsafeMutableBufferPointer<Float>, keyGradient dk: UnsafeMutableBufferPointer<Float>,
                         valueGradient dv: UnsafeMutableBufferPointer<Float>, pool: ThreadPool? = nil) throws {
        try checkShapes(tokens: n, q: q.count, k: k.count, v: v.count, outputs: [gOut.count, dq.count])
        let d = headDimension, g = group, c = chunkTokens, kvStride = kvHeads * d
        guard dk.count >= n * kvStride, dv.count >= n * kvStride else {
            throw TrainingError.shapeMismatch("attention key/value gradients of \(dk.count), \(dv.count) values for \(n) tokens × \(kvStride)")
        }
        let chunks = (n + c - 1) / c
        let keys = headMajor(k, tokens: n, role: "attention.keys"), values = headMajor(v, tokens: n, role: "attention.values")
        // Chunk i's partial dK/dV rows (its visible keys) start at partialOffsets[i] in each
        // KV head's region of `partialRows` rows.
        let visibleKeys = (0..<chunks).map { min(($0 + 1) * c, n) }
        var partialOffsets = [Int](repeating: 0, count: chunks + 1)
        for i in 0..<chunks { partialOffsets[i + 1] = partialOffsets[i] + visibleKeys[i] }
        let partialRows = partialOffsets[chunks]
        let partialK = scratch.buffer("attention.partialK", count: kvHeads * partialRows * d).baseAddress!
        let partialV = scratch.buffer("attention.partialV", count: kvHeads * partialRows * d).baseAddress!
        let rowsMax = c * g
        let perThread = 3 * rowsMax * d + 3 * rowsMax * n
        let threadScratch = scratch.buffer("attention.thread", count: (pool?.threadCount ?? 1) * perThread).baseAddress!
        let qBase = q.baseAddress!, gBase = gOut.baseAddress!, dqBase = dq.baseAddress!
        let failures = TaskFailures(count: kvHeads * chunks)
        let variant = tern_float_variant_best()  // on this thread: its kernel class
        PoolTasks.run(pool, tasks: kvHeads * chunks) { task, thread in
            let kvHead = task / chunks, chunk = task % chunks, first = chunk * c
            let count = min(c, n - first), rows = count * g, visible = first + count
            let qs = threadScratch + thread * perThread, gRows = qs + rowsMax * d, dqRows = gRows + rowsMax * d
            let p = dqRows + rowsMax * d, ds = p + rowsMax * n, transposed = ds + rowsMax * n
            let kh = keys + kvHead * n * d, vh = values + kvHead * n * d
            let partial = (kvHead * partialRows + partialOffsets[chunk]) * d
            gatherRows(qBase, first: first, count: count, kvHead: kvHead, scale: scale, into: qs)
            gatherRows(gBase, first: first, count: count, kvHead: kvHead, scale: 1, into: gRows)
            var status = tern_gemm_f(nil, variant, TERN_F32, qs, rows, d, kh, visible, p)
            if status == kernelOK { status = causalSoftmax(p, rows: rows, visible: visible, first: first, variant: variant) }
            if status == kernelOK { status = tern_gemm_f(nil, variant, TERN_F32, gRows, rows, d, vh, visible, ds) }
            guard status == kernelOK else { return failures.record(status, at: task) }
            // dS = P⊙(dP − Σ P⊙dP) in place of dP (P is exactly 0 past the causal limit).
            for r in 0..<rows {
                let pRow = p + r * visible, dRow = ds + r * visible
                var weighted: Float = 0
                for j in 0..<visible { weighted += pRow[j] * dRow[j] }
                for j in 0..<visible { dRow[j] = pRow[j] * (dRow[j] - weighted) }
            }
            status = tern_gemm_t_f(nil, variant, TERN_F32, ds, rows, visible, kh, d, dqRows)
            if status == kernelOK {
                Self.transpose(ds, rows: rows, cols: visible, into: transposed)
                status = tern_gemm_t_f(nil, variant, TERN_F32, transposed, visible, rows, qs, d, partialK + partial)
            }
            if status == kernelOK {
                Self.transpose(p, rows: rows, cols: visible, into: transposed)
                status = tern_gemm_t_f(nil, variant, TERN_F32, transposed, visible, rows, gRows, d, partialV + partial)
            }
            guard status == kernelOK else { return failures.record(status, at: task) }
            scatterRows(dqRows, first: first, count: count, kvHead: kvHead, scale: scale, into: dqBase)
        }
        try failures.rethrow()
        // dK[j] and dV[j] of each KV head: the partials of every chunk that sees key j, in order.
        let dkBase = dk.baseAddress!, dvBase = dv.baseAddress!
        PoolTasks.run(pool, tasks: kvHeads) { kvHead, _ in
            for (partials, target) in [(partialK, dkBase), (partialV, dvBase)] {
                for j in 0..<n {
                    let row = target + j * kvStride + kvHead * d
                    row.initialize(repeating: 0, count: d)
                    for chunk in (j / c)..<chunks {
                        let source = partials + (kvHead * partialRows + partialOffsets[chunk] + j) * d
                        for i in 0..<d { row[i] += source[i] }
                    }
                }
            }
        }
    }

    private func checkShapes(tokens n: Int, q: Int, k: Int, v: Int, outputs: [Int]) throws {
        let e = heads * headDimension, kv = kvHeads * headDimension
        guard n > 0, kvHeads > 0, heads % kvHeads == 0, q >= n * e, k >= n * kv, v >= n * kv, outputs.allSatisfy({ $0 >= n * e }) else {
            throw TrainingError.shapeMismatch("attention of \(heads) heads on \(kvHeads) KV heads × \(headDimension) over \(n) tokens: "
                + "q \(q), k \(k), v \(v), outputs \(outputs) values")
        }
    }

    /// K or V (tokens × kvHeads × d) regrouped as kvHeads × tokens × d, so that each KV
    /// head is one contiguous matrix for the GEMMs.
    private func headMajor(_ x: UnsafeBufferPointer<Float>, tokens n: Int, role: String) -> UnsafeMutablePointer<Float> {
        let d = headDimension
        let y = scratch.buffer(role, count: kvHeads * n * d).baseAddress!
        for t in 0..<n {
            for h in 0..<kvHeads {
                (y + (h * n + t) * d).update(from: x.baseAddress! + (t * kvHeads + h) * d, count: d)
            }
        }
        return y
    }

    /// Rows (token i, member m) ← source[first + i][kvHead·g + m] · scale.
    private func gatherRows(_ source: UnsafePointer<Float>, first: Int, count: Int, kvHead: Int, scale: Float,
                            into rows: UnsafeMutablePointer<Float>) {
        let d = headDimension, g = group
        for i in 0..<count {
            for m in 0..<g {
                let from = source + ((first + i) * heads + kvHead * g + m) * d, to = rows + (i * g + m) * d
                for x in 0..<d { to[x] = from[x] * scale }
            }
        }
    }

    /// target[first + i][kvHead·g + m] ← row (i, m) · scale.
    private func scatterRows(_ rows: UnsafePointer<Float>, first: Int, count: Int, kvHead: Int, scale: Float,
                             into target: UnsafeMutablePointer<Float>) {
        let d = headDimension, g = group
        for i in 0..<count {
            for m in 0..<g {
                let from = rows + (i * g + m) * d, to = target + ((first + i) * heads + kvHead * g + m) * d
                for x in 0..<d { to[x] = from[x] * scale }
            }
        }
    }

    /// Row r (token first + r/g) keeps keys 0...first + r/g.
    private func causalSoftmax(_ scores: UnsafeMutablePointer<Float>, rows: Int, visible: Int, first: Int,
                               variant: tern_float_variant) -> Int32 {
        for r in 0..<rows {
            let row = scores + r * visible
            let status = tern_softmax(variant, row, 1, visible, first + r / group, row)
            if status != kernelOK { return status }
        }
        return kernelOK
    }

    private static func transpose(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            for c in 0..<cols { y[c * rows + r] = x[r * cols + c] }
        }
    }
}

private let kernelOK = Int32(TERN_FV_OK)

/// The first failure of a set of parallel tasks, each task writing only its own slot.
private final class TaskFailures {
    private let codes: UnsafeMutableBufferPointer<Int32>

    init(count: Int) {
        codes = .allocate(capacity: max(count, 1))
        codes.initialize(repeating: kernelOK)
    }

    deinit { codes.deallocate() }

    func record(_ code: Int32, at task: Int) { codes[task] = code }

    func rethrow() throws {
        if let code = codes.first(where: { $0 != kernelOK }) {
            throw FloatKernelError.invalidArgument("attention float kernel failed with code \(code)")
        }
    }
}
