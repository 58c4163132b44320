import TernKernels

/// One sequence's part of a batched forward pass.
public struct BatchSequence {
    /// Tokens of this sequence in the batch (consecutive rows).
    public let tokens: Int
    /// Position of the first of them: the sequence's cache already holds 0..<start.
    public let start: Int
    /// The sequence's KV blocks; they must cover positions 0..<start+tokens.
    let blocks: [Int32]
    /// Which of its positions get logits (nil: none, e.g. a prefill chunk that is not the last).
    public let logits: LogitSelection?

    init(tokens: Int, start: Int, blocks: [Int32], logits: LogitSelection?) {
        self.tokens = tokens
        self.start = start
        self.blocks = blocks
        self.logits = logits
    }

    /// Logit rows this sequence contributes.
    var logitRows: Int {
        switch logits {
        case nil: 0
        case .last: 1
        case .all: tokens
        }
    }
}

/// The forward pass of a batch that mixes sequences — decode steps of some, prefill
/// chunks of others — each at its own positions and with its own KV blocks: every
/// projection multiplies all rows at once (the weights stream once per step, whatever the
/// batch holds), norms, RoPE and the FFN run per row, and attention runs per sequence over
/// the paged cache (`PagedAttention`).
///
/// Every operation treats rows independently (the kernels give a row the same bits alone
/// or among others, and quantize activations per row), so a sequence's logits do not
/// depend on what else is in its batch: serving many requests at once gives each the
/// tokens it would get alone.
///
/// After the first step of each batch size, a step allocates nothing but small tables.
/// Not thread-safe: one owner.
final class BatchForward {
    let model: TransformerModel
    let pool: ThreadPool?
    let precision: MatmulPrecision
    let cache: PagedKVCache
    /// The head this pass multiplies with: Q8_0 for int8 activations when the model has
    /// one, else the stored head (float32 precision reproduces the file's weights exactly).
    let outputHead: Linear

    private let attention: PagedAttention
    private var scratch: ForwardScratch?
    /// Scratch of the int16 path's projections (unused by int8 and float32 passes).
    private let splitWorkspace = SplitWorkspace()
    private var logits = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    /// A stored embedding row on its way from the file (see `TokenEmbedding`).
    private let embeddingStaging: UnsafeMutableRawBufferPointer

    /// - Parameter maxPositions: the longest sequence any batch will hold.
    init(model: TransformerModel, cache: PagedKVCache, maxPositions: Int, pool: ThreadPool?, precision: MatmulPrecision) {
        let hp = model.parameters
        self.model = model
        self.pool = pool
        self.precision = precision
        self.cache = cache
        attention = PagedAttention(heads: hp.headCount, kvHeads: hp.headCountKV, headDimension: hp.headDimension,
                                   blockTokens: cache.blockTokens, maxPositions: maxPositions,
                                   threads: pool?.threadCount ?? 1)
        // The Q8_0 head (when the model was loaded with one) serves both integer precisions;
        // .float32 keeps the stored head, so it stays the float model.
        outputHead = precision == .float32 ? model.output : (model.quantizedOutput ?? model.output)
        embeddingStaging = .allocate(byteCount: max(1, model.tokenEmbedding.stagingBytes), alignment: 64)
    }

    deinit {
        logits.deallocate()
        embeddingStaging.deallocate()
    }

    var maxPositions: Int { attention.maxPositions }

    /// Weight bytes one pass reads, whatever its batch: every projection of every block and the head.
    var weightBytesPerStep: Int {
        model.blocks.reduce(outputHead.weights.byteCount) { sum, b in
            sum + [b.query, b.key, b.value, b.attentionOutput, b.gate, b.up, b.down].reduce(0) { $0 + $1.weights.byteCount }
        }
    }

    /// Runs `tokens` — the sequences' rows, concatenated in `sequences` order — stores their
    /// keys and values in each sequence's blocks, and returns the selected logits, row-major
    /// (rows × vocabulary), sequences in order. The buffer belongs to this pass and is
    /// overwritten by the next call.
    func run(_ tokens: UnsafeBufferPointer<Int32>, sequences: [BatchSequence]) throws -> UnsafeBufferPointer<Float> {
        guard !tokens.isEmpty else { throw RuntimeError.emptyBatch }
        let hp = model.parameters
        for id in tokens where id < 0 || Int(id) >= hp.vocabularySize {
            throw RuntimeError.tokenOutOfRange(token: id, vocabularySize: hp.vocabularySize)
        }
        var rowsSeen = 0
        for sequence in sequences {
            let end = sequence.start + sequence.tokens
            guard end <= min(attention.maxPositions, sequence.blocks.count * cache.blockTokens) else {
                throw RuntimeError.contextFull(position: sequence.start, tokens: sequence.tokens,
                                               capacity: min(attention.maxPositions, sequence.blocks.count * cache.blockTokens))
            }
            rowsSeen += sequence.tokens
        }
        guard rowsSeen == tokens.count, sequences.allSatisfy({ $0.tokens > 0 && $0.start >= 0 }) else {
            throw RuntimeError.badBatch("\(tokens.count) tokens for sequences of \(sequences.map(\.tokens)) rows")
        }

        let n = tokens.count, e = hp.embeddingLength
        let s = scratch(tokens: n)
        let b = s.batch(n)
        // Block tables side by side, so attention tasks can point into them.
        var flatTables = [Int32]()
        flatTables.reserveCapacity(sequences.reduce(0) { $0 + $1.blocks.count })
        var tableOffsets = [Int]()
        var row = 0
        for sequence in sequences {
            tableOffsets.append(flatTables.count)
            flatTables.append(contentsOf: sequence.blocks)
            for t in 0..<sequence.tokens { b.positions[row + t] = Int32(sequence.start + t) }
            row += sequence.tokens
        }
        for (t, id) in tokens.enumerated() {
            try model.tokenEmbedding.copyRow(Int(id), into: b.hidden.rows(t..<t + 1, width: e), staging: embeddingStaging)
        }
        try flatTables.withUnsafeBufferPointer { tables in
            var segments = [AttentionSegment]()
            segments.reserveCapacity(sequences.count)
            var first = 0
            for (index, sequence) in sequences.enumerated() {
                segments.append(AttentionSegment(row: first, tokens: sequence.tokens, start: sequence.start,
                                                 table: tables.baseAddress! + tableOffsets[index]))
                first += sequence.tokens
            }
            for (index, block) in model.blocks.enumerated() {
                try runBlock(block, layer: index, segments: segments, buffers: b, scratch: s)
            }
        }

        // Only the selected rows go through the final norm and the head.
        var selected = 0
        row = 0
        for sequence in sequences {
            let firstSelected = sequence.logits == .all ? 0 : sequence.tokens - sequence.logitRows
            for t in firstSelected..<sequence.tokens {
                let source = b.hidden.rows(row + t..<row + t + 1, width: e)
                try normalize(source, weight: model.outputNorm, into: b.normed.rows(selected..<selected + 1, width: e))
                selected += 1
            }
            row += sequence.tokens
        }
        let out = logitRows(selected)
        guard selected > 0 else { return UnsafeBufferPointer(out) }
        let headInput = try LinearInput(UnsafeBufferPointer(b.normed.rows(0..<selected, width: e)), tokens: selected,
                                        quantizingInto: outputHead.readsQuantizedInput(precision)
                                            ? s.activations(tokens: LinearInput.quantizedRows(tokens: selected, precision: precision), cols: e) : nil,
                                        workspace: splitWorkspace)
        try outputHead.forward(headInput, precision: precision, into: out, pool: pool)
        return UnsafeBufferPointer(out)
    }

    private func runBlock(_ block: TransformerBlock, layer: Int, segments: [AttentionSegment], buffers b: ForwardBuffers,
                          scratch s: ForwardScratch) throws {
        let hp = model.parameters
        let e = hp.embeddingLength, ff = hp.feedForwardLength
        let positions = UnsafeBufferPointer(b.positions)
        let freqBase = Float(hp.ropeFreqBase)

        // Attention.
        try normalize(b.hidden, weight: block.attentionNorm, into: b.normed)
        let attentionInput = try input(b.normed, cols: e, scratch: s, quantize: reads(block.query, block.key, block.value))
        try Linear.forward([block.query, block.key, block.value], attentionInput, precision: precision,
                           into: [b.query, b.keys, b.values], pool: pool)
        try FloatKernels.rope(b.query, heads: hp.headCount, headDim: hp.headDimension, rotatedDims: hp.ropeDimensionCount,
                              positions: positions, freqBase: freqBase, layout: model.ropeLayout)
        try FloatKernels.rope(b.keys, heads: hp.headCountKV, headDim: hp.headDimension, rotatedDims: hp.ropeDimensionCount,
                              positions: positions, freqBase: freqBase, layout: model.ropeLayout)
        let kv = hp.headCountKV * hp.headDimension
        for segment in segments {
            cache.store(layer: layer, table: UnsafeBufferPointer(start: segment.table, count: cache.blocksFor(tokens: segment.start + segment.tokens)),
                        start: segment.start, tokens: segment.tokens,
                        keys: b.keys.baseAddress! + segment.row * kv, values: b.values.baseAddress! + segment.row * kv)
        }
        try attention.run(queries: UnsafeBufferPointer(b.query), segments: segments, cache: cache, layer: layer,
                          into: b.attention, pool: pool)
        if let subNorm = block.attentionSubNorm { try normalize(b.attention, weight: subNorm, into: b.attention) }
        let projectionInput = try input(b.attention, cols: e, scratch: s, quantize: reads(block.attentionOutput))
        try block.attentionOutput.forward(projectionInput, precision: precision, into: b.projection, pool: pool)
        addInPlace(b.hidden, b.projection)

        // Feed-forward: down(act(gate·x) ⊙ up·x).
        try normalize(b.hidden, weight: block.ffnNorm, into: b.normed)
        let ffnInput = try input(b.normed, cols: e, scratch: s, quantize: reads(block.gate, block.up))
        try Linear.forward([block.gate, block.up], ffnInput, precision: precision, into: [b.gate, b.up], pool: pool)
        try FloatKernels.gated(model.activation, gate: UnsafeBufferPointer(b.gate), up: UnsafeBufferPointer(b.up), into: b.gate)
        if let subNorm = block.ffnSubNorm { try normalize(b.gate, weight: subNorm, into: b.gate) }
        let downInput = try input(b.gate, cols: ff, scratch: s, quantize: reads(block.down))
        try block.down.forward(downInput, precision: precision, into: b.projection, pool: pool)
        addInPlace(b.hidden, b.projection)
    }

    /// Whether any of the projections sharing an input reads its int8 quantization (fixed
    /// arities rather than a variadic list, which would allocate an array per call).
    private func reads(_ a: Linear, _ b: Linear? = nil, _ c: Linear? = nil) -> Bool {
        a.readsQuantizedInput(precision) || b?.readsQuantizedInput(precision) == true || c?.readsQuantizedInput(precision) == true
    }

    /// `values` as a projection input, quantized once (int8, or the int16 split) when `quantize` says a reader needs it.
    private func input(_ values: UnsafeMutableBufferPointer<Float>, cols: Int, scratch s: ForwardScratch,
                       quantize: Bool) throws -> LinearInput {
        let tokens = values.count / cols
        return try LinearInput(UnsafeBufferPointer(values), tokens: tokens,
                               quantizingInto: quantize
                                   ? s.activations(tokens: LinearInput.quantizedRows(tokens: tokens, precision: precision), cols: cols) : nil,
                               workspace: splitWorkspace)
    }

    private func normalize(_ x: UnsafeMutableBufferPointer<Float>, weight: [Float], into y: UnsafeMutableBufferPointer<Float>) throws {
        try weight.withUnsafeBufferPointer {
            try FloatKernels.rmsNorm(UnsafeBufferPointer(x), weight: $0, rowLength: $0.count,
                                     eps: Float(model.parameters.rmsNormEpsilon), into: y)
        }
    }

    private func addInPlace(_ x: UnsafeMutableBufferPointer<Float>, _ delta: UnsafeMutableBufferPointer<Float>) {
        for i in x.indices { x[i] += delta[i] }
    }

    /// Scratch for a batch of `tokens`: the current one while it is large enough.
    private func scratch(tokens: Int) -> ForwardScratch {
        if let s = scratch, s.tokens >= tokens { return s }
        let s = ForwardScratch(parameters: model.parameters, tokens: tokens)
        scratch = s
        return s
    }

    /// The first `rows` × vocabulary floats of the logits buffer, grown when needed.
    private func logitRows(_ rows: Int) -> UnsafeMutableBufferPointer<Float> {
        let count = rows * model.vocabularySize
        if logits.count < count {
            logits.deallocate()
            logits = .allocate(capacity: max(1, count))
        }
        return UnsafeMutableBufferPointer(rebasing: logits[0..<count])
    }
}
