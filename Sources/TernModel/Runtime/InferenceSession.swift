import TernKernels

/// Which positions of a batch get logits.
public enum LogitSelection: Sendable {
    /// Every position (parity checks, scoring).
    case all
    /// Only the last position (generation).
    case last
}

/// One conversation with a model: the KV cache and the scratch memory of the forward
/// pass. Tokens go in batches (the prompt at once, then one per decode step); positions
/// continue from the previous batch. Not thread-safe: one session per caller.
///
/// After the first step of each batch size, a step allocates nothing: activations, int8
/// inputs, attention scratch and logits live in buffers the session keeps (`evaluate` and
/// `decode` hand out a view of the logits buffer instead of a new array).
public final class InferenceSession {
    public let model: TransformerModel
    public let pool: ThreadPool?
    public let precision: MatmulPrecision
    /// Tokens in the cache, i.e. the position of the next token.
    public private(set) var position = 0
    public var capacity: Int { cache.capacity }

    private let cache: KVCache
    private let attention: CausalAttention
    /// The head this session multiplies with: Q8_0 for int8 activations when the model has
    /// one, else the stored head (float32 precision reproduces the file's weights exactly).
    let outputHead: Linear
    private var scratch: ForwardScratch?
    /// Scratch of the int16 path's projections (unused by int8 and float32 sessions).
    private let splitWorkspace = SplitWorkspace()
    private var logits = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    /// A stored embedding row on its way from the file (see `TokenEmbedding`).
    private let embeddingStaging: UnsafeMutableRawBufferPointer

    /// - Parameters:
    ///   - contextLength: cache capacity in tokens; defaults to the model's context length.
    ///   - pool: the thread pool every kernel runs on (nil = the calling thread only).
    ///   - precision: int8 activations (fast, as llama.cpp) or float32 (reference checks).
    public init(model: TransformerModel, contextLength: Int? = nil, pool: ThreadPool? = nil,
                precision: MatmulPrecision = .int8Activations) {
        let hp = model.parameters
        self.model = model
        self.pool = pool
        self.precision = precision
        let capacity = max(1, contextLength ?? hp.contextLength)
        cache = KVCache(layers: hp.blockCount, capacity: capacity, kvHeads: hp.headCountKV, headDimension: hp.headDimension)
        attention = CausalAttention(heads: hp.headCount, kvHeads: hp.headCountKV, headDimension: hp.headDimension,
                                    capacity: capacity, threads: pool?.threadCount ?? 1)
        // The Q8_0 head (when the model was loaded with one) serves both integer precisions;
        // .float32 keeps the stored head, so it stays the float model.
        outputHead = precision == .float32 ? model.output : (model.quantizedOutput ?? model.output)
        embeddingStaging = .allocate(byteCount: max(1, model.tokenEmbedding.stagingBytes), alignment: 64)
    }

    deinit {
        logits.deallocate()
        embeddingStaging.deallocate()
    }

    /// Forgets every cached position (a new conversation reuses the memory).
    public func reset() { position = 0 }

    /// Runs `tokens` at positions `position ..< position + tokens.count` and returns the
    /// logits of the selected positions, row-major (positions × vocabulary), as a new array.
    public func forward(_ tokens: [Int32], logits selection: LogitSelection = .last) throws -> [Float] {
        try Array(tokens.withUnsafeBufferPointer { try evaluate($0, logits: selection) })
    }

    /// One decode step: runs `token` at the next position and returns its logits.
    /// The buffer belongs to the session and is overwritten by the next step.
    public func decode(_ token: Int32) throws -> UnsafeBufferPointer<Float> {
        var id = token
        return try withUnsafePointer(to: &id) { try evaluate(UnsafeBufferPointer(start: $0, count: 1), logits: .last) }
    }

    /// Like `forward`, without copying: the logits stay in the session's buffer, valid
    /// until the next call.
    public func evaluate(_ tokens: UnsafeBufferPointer<Int32>, logits selection: LogitSelection = .last) throws -> UnsafeBufferPointer<Float> {
        guard !tokens.isEmpty else { throw RuntimeError.emptyBatch }
        let hp = model.parameters
        for id in tokens where id < 0 || Int(id) >= hp.vocabularySize {
            throw RuntimeError.tokenOutOfRange(token: id, vocabularySize: hp.vocabularySize)
        }
        guard position + tokens.count <= cache.capacity else {
            throw RuntimeError.contextFull(position: position, tokens: tokens.count, capacity: cache.capacity)
        }
        let n = tokens.count, e = hp.embeddingLength
        let s = scratch(tokens: n)
        let b = s.batch(n)
        for (t, id) in tokens.enumerated() {
            b.positions[t] = Int32(position + t)
            try model.tokenEmbedding.copyRow(Int(id), into: b.hidden.rows(t..<t + 1, width: e), staging: embeddingStaging)
        }
        for (index, block) in model.blocks.enumerated() {
            try runBlock(block, layer: index, buffers: b, scratch: s)
        }
        position += n

        try normalize(b.hidden, weight: model.outputNorm, into: b.normed)
        let first = selection == .all ? 0 : n - 1
        let rows = n - first
        let input = try LinearInput(UnsafeBufferPointer(b.normed.rows(first..<n, width: e)), tokens: rows,
                                    quantizingInto: outputHead.readsQuantizedInput(precision)
                                        ? s.activations(tokens: LinearInput.quantizedRows(tokens: rows, precision: precision), cols: e) : nil,
                                    workspace: splitWorkspace)
        let out = logitRows(rows)
        try outputHead.forward(input, precision: precision, into: out, pool: pool)
        return UnsafeBufferPointer(out)
    }

    private func runBlock(_ block: TransformerBlock, layer: Int, buffers b: ForwardBuffers, scratch s: ForwardScratch) throws {
        let hp = model.parameters
        let n = b.tokens, e = hp.embeddingLength, ff = hp.feedForwardLength
        let positions = UnsafeBufferPointer(b.positions)
        let freqBase = Float(hp.ropeFreqBase)

        // Attention.
        try normalize(b.hidden, weight: block.attentionNorm, into: b.normed)
        let attentionInput = try input(b.normed, cols: e, scratch: s, quantize: reads(block.query, block.key, block.value))
        try block.query.forward(attentionInput, precision: precision, into: b.query, pool: pool)
        try block.key.forward(attentionInput, precision: precision, into: b.keys, pool: pool)
        try block.value.forward(attentionInput, precision: precision, into: b.values, pool: pool)
        try FloatKernels.rope(b.query, heads: hp.headCount, headDim: hp.headDimension, rotatedDims: hp.ropeDimensionCount,
                              positions: positions, freqBase: freqBase, layout: model.ropeLayout)
        try FloatKernels.rope(b.keys, heads: hp.headCountKV, headDim: hp.headDimension, rotatedDims: hp.ropeDimensionCount,
                              positions: positions, freqBase: freqBase, layout: model.ropeLayout)
        cache.store(layer: layer, start: position, tokens: n, keys: UnsafeBufferPointer(b.keys), values: UnsafeBufferPointer(b.values))
        try attention.run(queries: UnsafeBufferPointer(b.query), tokens: n, start: position, cache: cache, layer: layer,
                          into: b.attention, pool: pool)
        if let subNorm = block.attentionSubNorm { try normalize(b.attention, weight: subNorm, into: b.attention) }
        let projectionInput = try input(b.attention, cols: e, scratch: s, quantize: reads(block.attentionOutput))
        try block.attentionOutput.forward(projectionInput, precision: precision, into: b.projection, pool: pool)
        addInPlace(b.hidden, b.projection)

        // Feed-forward: down(act(gate·x) ⊙ up·x).
        try normalize(b.hidden, weight: block.ffnNorm, into: b.normed)
        let ffnInput = try input(b.normed, cols: e, scratch: s, quantize: reads(block.gate, block.up))
        try block.gate.forward(ffnInput, precision: precision, into: b.gate, pool: pool)
        try block.up.forward(ffnInput, precision: precision, into: b.up, pool: pool)
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
            logits = .allocate(capacity: count)
        }
        return UnsafeMutableBufferPointer(rebasing: logits[0..<count])
    }
}
