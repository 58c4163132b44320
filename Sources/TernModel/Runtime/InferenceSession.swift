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
public final class InferenceSession {
    public let model: TransformerModel
    public let pool: ThreadPool?
    public let precision: MatmulPrecision
    /// Tokens in the cache, i.e. the position of the next token.
    public private(set) var position = 0
    public var capacity: Int { cache.capacity }

    private let cache: KVCache
    private var scratch: ForwardScratch?

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
        cache = KVCache(layers: hp.blockCount, capacity: max(1, contextLength ?? hp.contextLength),
                        kvDimension: hp.headCountKV * hp.headDimension)
    }

    /// Forgets every cached position (a new conversation reuses the memory).
    public func reset() { position = 0 }

    /// Runs `tokens` at positions `position ..< position + tokens.count` and returns the
    /// logits of the selected positions, row-major (positions × vocabulary).
    public func forward(_ tokens: [Int32], logits selection: LogitSelection = .last) throws -> [Float] {
        guard !tokens.isEmpty else { throw RuntimeError.emptyBatch }
        let hp = model.parameters
        for id in tokens where id < 0 || Int(id) >= hp.vocabularySize {
            throw RuntimeError.tokenOutOfRange(token: id, vocabularySize: hp.vocabularySize)
        }
        guard position + tokens.count <= cache.capacity else {
            throw RuntimeError.contextFull(position: position, tokens: tokens.count, capacity: cache.capacity)
        }
        let n = tokens.count
        let s = scratch(tokens: n)
        for (t, id) in tokens.enumerated() {
            s.positions[t] = Int32(position + t)
            try model.tokenEmbedding.copyRow(Int(id), into: s.hidden.rows(t..<t + 1, width: hp.embeddingLength))
        }
        for (index, block) in model.blocks.enumerated() {
            try runBlock(block, layer: index, tokens: n, scratch: s)
        }
        position += n

        let e = hp.embeddingLength
        try normalize(s.hidden, weight: model.outputNorm, into: s.normed)
        let first = selection == .all ? 0 : n - 1
        let rows = n - first
        let input = LinearInput(UnsafeBufferPointer(s.normed.rows(first..<n, width: e)), tokens: rows,
                                activations: s.activations(tokens: rows, cols: e))
        var logits = [Float](repeating: 0, count: rows * model.vocabularySize)
        try logits.withUnsafeMutableBufferPointer { try model.output.forward(input, precision: precision, into: $0, pool: pool) }
        return logits
    }

    private func runBlock(_ block: TransformerBlock, layer: Int, tokens n: Int, scratch s: ForwardScratch) throws {
        let hp = model.parameters
        let e = hp.embeddingLength, kvDim = cache.kvDimension, ff = hp.feedForwardLength
        let positions = UnsafeBufferPointer(s.positions)
        let freqBase = Float(hp.ropeFreqBase)

        // Attention.
        try normalize(s.hidden, weight: block.attentionNorm, into: s.normed)
        let attentionInput = LinearInput(UnsafeBufferPointer(s.normed), tokens: n, activations: s.activations(tokens: n, cols: e))
        let keys = cache.keys(layer: layer) + position * kvDim
        let values = cache.values(layer: layer) + position * kvDim
        let newKeys = UnsafeMutableBufferPointer(start: keys, count: n * kvDim)
        let newValues = UnsafeMutableBufferPointer(start: values, count: n * kvDim)
        try block.query.forward(attentionInput, precision: precision, into: s.query, pool: pool)
        try block.key.forward(attentionInput, precision: precision, into: newKeys, pool: pool)
        try block.value.forward(attentionInput, precision: precision, into: newValues, pool: pool)
        try FloatKernels.rope(s.query, heads: hp.headCount, headDim: hp.headDimension, rotatedDims: hp.ropeDimensionCount,
                              positions: positions, freqBase: freqBase, layout: model.ropeLayout)
        try FloatKernels.rope(newKeys, heads: hp.headCountKV, headDim: hp.headDimension, rotatedDims: hp.ropeDimensionCount,
                              positions: positions, freqBase: freqBase, layout: model.ropeLayout)
        let attention = CausalAttention(heads: hp.headCount, kvHeads: hp.headCountKV, headDimension: hp.headDimension)
        try attention.run(queries: UnsafeBufferPointer(s.query), tokens: n, start: position,
                          keys: cache.keys(layer: layer), values: cache.values(layer: layer),
                          scores: s.scores, into: s.attention)
        if let subNorm = block.attentionSubNorm { try normalize(s.attention, weight: subNorm, into: s.attention) }
        let projectionInput = LinearInput(UnsafeBufferPointer(s.attention), tokens: n, activations: s.activations(tokens: n, cols: e))
        try block.attentionOutput.forward(projectionInput, precision: precision, into: s.projection, pool: pool)
        addInPlace(s.hidden, s.projection)

        // Feed-forward: down(act(gate·x) ⊙ up·x).
        try normalize(s.hidden, weight: block.ffnNorm, into: s.normed)
        let ffnInput = LinearInput(UnsafeBufferPointer(s.normed), tokens: n, activations: s.activations(tokens: n, cols: e))
        try block.gate.forward(ffnInput, precision: precision, into: s.gate, pool: pool)
        try block.up.forward(ffnInput, precision: precision, into: s.up, pool: pool)
        try FloatKernels.gated(model.activation, gate: UnsafeBufferPointer(s.gate), up: UnsafeBufferPointer(s.up), into: s.gate)
        if let subNorm = block.ffnSubNorm { try normalize(s.gate, weight: subNorm, into: s.gate) }
        let downInput = LinearInput(UnsafeBufferPointer(s.gate), tokens: n, activations: s.activations(tokens: n, cols: ff))
        try block.down.forward(downInput, precision: precision, into: s.projection, pool: pool)
        addInPlace(s.hidden, s.projection)
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

    /// Scratch for a batch of `tokens`, reused while batches keep that size (every decode step).
    private func scratch(tokens: Int) -> ForwardScratch {
        if let s = scratch, s.tokens == tokens { return s }
        let s = ForwardScratch(parameters: model.parameters, tokens: tokens, capacity: cache.capacity)
        scratch = s
        return s
    }
}
