import CTernary
import TernKernels

/// Grouped-query causal attention over the KV cache, in float32:
/// out[t][h] = Σ_j softmax_j(q[t][h]·k[j][h/g] / √d) · v[j][h/g] for j ≤ start + t,
/// where g = heads / kvHeads query heads share one KV head.
///
/// Work is split into (KV head, chunk of `chunkTokens` tokens) tasks on the thread pool. A
/// task stacks the queries of every query head that shares the KV head (a decode step reads
/// each cached key and value once, not once per query head), multiplies them with the
/// cached keys through the float GEMM, applies the causal softmax and multiplies by the
/// values with the transposed GEMM, all in per-thread scratch. Each task writes its own slice of the output and a task's arithmetic does not
/// depend on which thread runs it, so results are identical for any thread count.
final class CausalAttention {
    let heads: Int
    let kvHeads: Int
    let headDimension: Int
    /// Tokens per task: small enough that the causal triangle wastes little work, large
    /// enough that each GEMM call amortizes its set-up.
    static let chunkTokens = 16

    private let capacity: Int
    private let threads: Int
    private let floatsPerThread: Int
    private let scratch: UnsafeMutableBufferPointer<Float>

    /// - Parameters:
    ///   - capacity: the longest key sequence (the cache capacity).
    ///   - threads: the pool's thread count (one scratch area per thread).
    init(heads: Int, kvHeads: Int, headDimension: Int, capacity: Int, threads: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension
        self.capacity = capacity
        self.threads = max(1, threads)
        floatsPerThread = Self.chunkTokens * (heads / kvHeads) * (2 * headDimension + capacity)
        scratch = .allocate(capacity: self.threads * floatsPerThread)
        scratch.initialize(repeating: 0)
    }

    deinit { scratch.deallocate() }

    /// - Parameters:
    ///   - queries: tokens × heads × headDimension, already rotated.
    ///   - start: position of the first query; the cache holds positions 0..<start+tokens.
    ///   - out: tokens × heads × headDimension.
    func run(queries: UnsafeBufferPointer<Float>, tokens: Int, start: Int, cache: KVCache, layer: Int,
             into out: UnsafeMutableBufferPointer<Float>, pool: ThreadPool?) throws {
        precondition(start + tokens <= capacity && queries.count >= tokens * heads * headDimension
                     && out.count >= tokens * heads * headDimension, "attention buffers smaller than the batch")
        var failure = Int32(TERN_FV_OK)
        let chunks = (tokens + Self.chunkTokens - 1) / Self.chunkTokens
        try withUnsafeMutablePointer(to: &failure) { failurePointer in
            var job = AttentionJob(
                queries: queries.baseAddress!, out: out.baseAddress!, tokens: tokens, start: start, chunks: chunks,
                heads: heads, group: heads / kvHeads, headDimension: headDimension,
                keys: cache.keys(layer: layer, head: 0), values: cache.values(layer: layer, head: 0),
                headStride: capacity * headDimension, scratch: scratch.baseAddress!, floatsPerThread: floatsPerThread,
                variant: tern_float_variant_best(), failure: failurePointer)
            withUnsafeMutablePointer(to: &job) { jobPointer in
                tern_pool_run(pool?.raw, Int32(kvHeads * chunks), { context, task, thread in
                    context!.assumingMemoryBound(to: AttentionJob.self).pointee.run(task: Int(task), thread: Int(thread))
                }, jobPointer)
            }
            if failurePointer.pointee != Int32(TERN_FV_OK) {
                throw FloatKernelError.invalidArgument("attention float kernel failed with code \(failurePointer.pointee)")
            }
        }
    }
}

/// One attention call's shared, read-only description; tasks index into it.
private struct AttentionJob {
    let queries: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>
    let tokens, start, chunks, heads, group, headDimension: Int
    /// Head 0 of the layer's keys/values; head h starts `h · headStride` floats later.
    let keys, values: UnsafeMutablePointer<Float>
    let headStride: Int
    let scratch: UnsafeMutablePointer<Float>
    let floatsPerThread: Int
    /// Resolved on the calling thread, so tasks use its kernel class (`KernelClass`).
    let variant: tern_float_variant
    let failure: UnsafeMutablePointer<Int32>

    /// Rows of the task's matrices are (token i, group member g) at i · group + g.
    func run(task: Int, thread: Int) {
        let d = headDimension
        let kvHead = task / chunks, first = (task % chunks) * CausalAttention.chunkTokens
        let count = min(CausalAttention.chunkTokens, tokens - first)
        let rows = count * group
        let visible = start + first + count
        let q = scratch + thread * floatsPerThread
        let o = q + CausalAttention.chunkTokens * group * d
        let scores = o + CausalAttention.chunkTokens * group * d
        // Gather the group's queries, scaled by 1/√d, into a contiguous rows × d matrix.
        let scale = 1 / Float(d).squareRoot()
        for i in 0..<count {
            for g in 0..<group {
                let source = queries + ((first + i) * heads + kvHead * group + g) * d
                let row = q + (i * group + g) * d
                for k in 0..<d { row[k] = source[k] * scale }
            }
        }
        let ok = Int32(TERN_FV_OK)
        var status = tern_gemm_f(nil, variant, TERN_F32, q, rows, d, keys + kvHead * headStride, visible, scores)
        // Token i sees keys 0...start+first+i, the same for each of its group's rows.
        for r in 0..<rows where status == ok {
            let row = scores + r * visible
            status = tern_softmax(variant, row, 1, visible, start + first + r / group, row)
        }
        if status == ok {
            status = tern_gemm_t_f(nil, variant, TERN_F32, scores, rows, visible, values + kvHead * headStride, d, o)
        }
        if status != ok {
            failure.pointee = status
            return
        }
        for i in 0..<count {
            for g in 0..<group {
                (out + ((first + i) * heads + kvHead * group + g) * d).update(from: o + (i * group + g) * d, count: d)
            }
        }
    }
}
