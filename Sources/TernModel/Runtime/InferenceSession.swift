import TernKernels

/// Which positions of a batch get logits.
public enum LogitSelection: Sendable {
    /// Every position (parity checks, scoring).
    case all
    /// Only the last position (generation).
    case last
}

/// One conversation with a model: its KV blocks and a forward pass of its own. Tokens go
/// in batches (the prompt at once, then one per decode step); positions continue from the
/// previous batch. Not thread-safe: one session per caller.
///
/// A session is the serving engine's forward pass (`BatchForward`) with a single sequence,
/// so a request gives the same tokens here as batched with others in a `ServingEngine`.
/// Its cache reserves address space for the whole context but only the pages of positions
/// actually used become resident. After the first step of each batch size, a step
/// allocates nothing but small tables (`evaluate` and `decode` hand out a view of the
/// logits buffer instead of a new array).
public final class InferenceSession {
    public let model: TransformerModel
    public let pool: ThreadPool?
    public let precision: MatmulPrecision
    /// Tokens in the cache, i.e. the position of the next token.
    public private(set) var position = 0
    public let capacity: Int

    let pass: BatchForward
    /// Every block of its own cache, in order: a session holds its whole context.
    private let blocks: [Int32]

    /// The head this session multiplies with (see `BatchForward.outputHead`).
    var outputHead: Linear { pass.outputHead }

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
        capacity = max(1, contextLength ?? hp.contextLength)
        let blockTokens = ServingDefaults.blockTokens
        let cache = PagedKVCache(layers: hp.blockCount, kvHeads: hp.headCountKV, headDimension: hp.headDimension,
                                 blockTokens: blockTokens, blockCount: (capacity + blockTokens - 1) / blockTokens)
        pass = BatchForward(model: model, cache: cache, maxPositions: capacity, pool: pool, precision: precision)
        blocks = Array(0..<Int32(cache.blockCount))
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
        guard position + tokens.count <= capacity else {
            throw RuntimeError.contextFull(position: position, tokens: tokens.count, capacity: capacity)
        }
        let logits = try pass.run(tokens, sequences: [BatchSequence(tokens: tokens.count, start: position,
                                                                    blocks: blocks, logits: selection)])
        position += tokens.count
        return logits
    }
}
