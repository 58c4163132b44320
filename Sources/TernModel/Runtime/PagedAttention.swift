import CTernary
import TernKernels

/// One sequence's rows of a batch, as attention sees them.
struct AttentionSegment {
    /// First row of the batch that belongs to the sequence.
    let row: Int
    /// Rows (tokens) of the sequence in this batch.
    let tokens: Int
    /// Position of the first of them; the cache holds positions 0..<start+tokens.
    let start: Int
    /// The sequence's block ids (valid for the whole call).
    let table: UnsafePointer<Int32>
}

/// Grouped-query causal attention over the paged KV cache, in float32:
/// out[t][h] = Σ_j softmax_j(q[t][h]·k[j][h/g] / √d) · v[j][h/g] for j ≤ position(t),
/// where g = heads / kvHeads query heads share one KV head — for every sequence of a
/// batch, each against its own cached blocks.
///
/// Work is split into (sequence, KV head, chunk of `chunkTokens` tokens) tasks on the
/// thread pool. A task stacks the queries of every query head that shares the KV head (a
/// decode step reads each cached key and value once, not once per query head), multiplies
/// them block by block with the cached keys through the float GEMM, applies the causal
/// softmax over the whole row, and accumulates probabilities × values block by block, in
/// block order (`tern_gemm_t_acc_f` continues the sums, so the result has the bits of one
/// product over contiguous keys and values), all in per-thread scratch.
///
/// A row's arithmetic depends only on its own query and position — not on which other rows
/// or sequences share its task or its batch (masked probabilities are exactly 0 and add
/// nothing) — so a sequence gets the same bits decoded alone, batched with others, or
/// prefilled in any chunking, and for any thread count.
final class PagedAttention {
    let heads: Int
    let kvHeads: Int
    let headDimension: Int
    let blockTokens: Int
    /// Tokens per task: small enough that the causal triangle wastes little work, large
    /// enough that each GEMM call amortizes its set-up.
    static let chunkTokens = 16

    /// The longest sequence (positions) a call may attend over.
    let maxPositions: Int
    private let threads: Int
    private let floatsPerThread: Int
    private let scratch: UnsafeMutableBufferPointer<Float>

    init(heads: Int, kvHeads: Int, headDimension: Int, blockTokens: Int, maxPositions: Int, threads: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension
        self.blockTokens = blockTokens
        self.maxPositions = maxPositions
        self.threads = max(1, threads)
        let rows = Self.chunkTokens * (heads / kvHeads)
        // queries, output (rows × d each), scores (rows × maxPositions), block part (rows × blockTokens)
        floatsPerThread = rows * (2 * headDimension + maxPositions + blockTokens)
        scratch = .allocate(capacity: self.threads * floatsPerThread)
        scratch.initialize(repeating: 0)
    }

    deinit { scratch.deallocate() }

    /// - Parameters:
    ///   - queries: rows × heads × headDimension, already rotated (rows = Σ segment tokens).
    ///   - out: rows × heads × headDimension.
    func run(queries: UnsafeBufferPointer<Float>, segments: [AttentionSegment], cache: PagedKVCache, layer: Int,
             into out: UnsafeMutableBufferPointer<Float>, pool: ThreadPool?) throws {
        let width = heads * headDimension
        var chunkOffsets = [Int]()
        chunkOffsets.reserveCapacity(segments.count + 1)
        var total = 0
        for segment in segments {
            precondition(segment.start + segment.tokens <= maxPositions, "attention over more positions than its scratch holds")
            precondition((segment.row + segment.tokens) * width <= min(queries.count, out.count), "attention buffers smaller than the batch")
            chunkOffsets.append(total)
            total += (segment.tokens + Self.chunkTokens - 1) / Self.chunkTokens
        }
        chunkOffsets.append(total)
        guard total > 0 else { return }
        var failure = Int32(TERN_FV_OK)
        try segments.withUnsafeBufferPointer { segmentPointer in
            try chunkOffsets.withUnsafeBufferPointer { offsets in
                try withUnsafeMutablePointer(to: &failure) { failurePointer in
                    var job = PagedAttentionJob(
                        queries: queries.baseAddress!, out: out.baseAddress!, segments: segmentPointer.baseAddress!,
                        chunkOffsets: offsets.baseAddress!, segmentCount: segments.count, chunksTotal: total,
                        heads: heads, kvHeads: kvHeads, group: heads / kvHeads, headDimension: headDimension,
                        blockTokens: blockTokens, maxPositions: maxPositions, cache: cache, layer: layer,
                        scratch: scratch.baseAddress!, floatsPerThread: floatsPerThread,
                        variant: tern_float_variant_best(), failure: failurePointer)
                    withUnsafeMutablePointer(to: &job) { jobPointer in
                        tern_pool_run(pool?.raw, Int32(total * kvHeads), { context, task, thread in
                            context!.assumingMemoryBound(to: PagedAttentionJob.self).pointee.run(task: Int(task), thread: Int(thread))
                        }, jobPointer)
                    }
                    if failurePointer.pointee != Int32(TERN_FV_OK) {
                        throw FloatKernelError.invalidArgument("attention float kernel failed with code \(failurePointer.pointee)")
                    }
                }
            }
        }
    }
}

/// One attention call's shared, read-only description; tasks index into it.
private struct PagedAttentionJob {
    let queries: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>
    let segments: UnsafePointer<AttentionSegment>
    /// Chunk index of each segment's first chunk; the last entry is the total.
    let chunkOffsets: UnsafePointer<Int>
    let segmentCount, chunksTotal, heads, kvHeads, group, headDimension, blockTokens, maxPositions: Int
    let cache: PagedKVCache
    let layer: Int
    let scratch: UnsafeMutablePointer<Float>
    let floatsPerThread: Int
    /// Resolved on the calling thread, so tasks use its kernel class (`KernelClass`).
    let variant: tern_float_variant
    let failure: UnsafeMutablePointer<Int32>

    /// Task = kvHead · chunksTotal + chunk. Rows of the task's matrices are (token i, group
    /// member g) at i · group + g.
    func run(task: Int, thread: Int) {
        let d = headDimension
        let kvHead = task / chunksTotal, chunk = task % chunksTotal
        var s = 0
        while chunkOffsets[s + 1] <= chunk { s += 1 }
        let segment = segments[s]
        let first = (chunk - chunkOffsets[s]) * PagedAttention.chunkTokens
        let count = min(PagedAttention.chunkTokens, segment.tokens - first)
        let rows = count * group
        let visible = segment.start + first + count
        let maxRows = PagedAttention.chunkTokens * group
        let q = scratch + thread * floatsPerThread
        let o = q + maxRows * d
        let scores = o + maxRows * d
        let part = scores + maxRows * maxPositions
        // Gather the group's queries, scaled by 1/√d, into a contiguous rows × d matrix.
        let scale = 1 / Float(d).squareRoot()
        for i in 0..<count {
            for g in 0..<group {
                let source = queries + ((segment.row + first + i) * heads + kvHead * group + g) * d
                let row = q + (i * group + g) * d
                for k in 0..<d { row[k] = source[k] * scale }
            }
        }
        let ok = Int32(TERN_FV_OK)
        var status = ok
        let blocks = (visible + blockTokens - 1) / blockTokens
        // Scores, one block of keys at a time, into row-major rows × visible.
        for b in 0..<blocks where status == ok {
            let keys = min(blockTokens, visible - b * blockTokens)
            status = tern_gemm_f(nil, variant, TERN_F32, q, rows, d,
                                 cache.keys(block: segment.table[b], layer: layer, head: kvHead), keys, part)
            for r in 0..<rows {
                (scores + r * visible + b * blockTokens).update(from: part + r * keys, count: keys)
            }
        }
        // Token i sees positions 0...start+first+i, the same for each of its group's rows.
        for r in 0..<rows where status == ok {
            let row = scores + r * visible
            status = tern_softmax(variant, row, 1, visible, segment.start + first + r / group, row)
        }
        // out = P · V, accumulated block after block: the same sums, in the same order, as
        // one product over contiguous values.
        for i in 0..<(rows * d) { o[i] = 0 }
        for b in 0..<blocks where status == ok {
            let keys = min(blockTokens, visible - b * blockTokens)
            for r in 0..<rows {
                part.advanced(by: r * keys).update(from: scores + r * visible + b * blockTokens, count: keys)
            }
            status = tern_gemm_t_acc_f(nil, variant, part, rows, keys,
                                       cache.values(block: segment.table[b], layer: layer, head: kvHead), d, o)
        }
        if status != ok {
            failure.pointee = status
            return
        }
        for i in 0..<count {
            for g in 0..<group {
                (out + ((segment.row + first + i) * heads + kvHead * group + g) * d).update(from: o + (i * group + g) * d, count: d)
            }
        }
    }
}
