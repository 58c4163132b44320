import TernKernels

/// llama-bench's two model tests on random tokens: `pp` (one prompt batch of
/// `promptTokens` from an empty cache) and `tg` (`generatedTokens` single-token decode
/// steps from an empty cache), each repeated after one warm-up run.
public struct ModelBenchmark {
    public struct Configuration: Sendable {
        public var promptTokens: Int
        public var generatedTokens: Int
        public var repetitions: Int
        public var seed: UInt64
        public var precision: MatmulPrecision

        public init(promptTokens: Int = 512, generatedTokens: Int = 128, repetitions: Int = 3, seed: UInt64 = 1,
                    precision: MatmulPrecision = .int8Activations) {
            self.promptTokens = promptTokens
            self.generatedTokens = generatedTokens
            self.repetitions = repetitions
            self.seed = seed
            self.precision = precision
        }
    }

    /// Tokens per second over the repetitions.
    public struct Rate: Sendable, Codable, Equatable {
        public let mean: Double
        public let standardDeviation: Double
        public let samples: [Double]

        init(samples: [Double]) {
            self.samples = samples
            let mean = samples.reduce(0, +) / Double(max(1, samples.count))
            let variance = samples.count > 1
                ? samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(samples.count - 1) : 0
            self.mean = mean
            standardDeviation = variance.squareRoot()
        }
    }

    public struct Result: Sendable {
        /// nil when the test was not asked for (0 tokens).
        public let prompt: Rate?
        public let generation: Rate?
        /// Weight bytes one decode step reads (every projection and the head).
        public let weightBytesPerToken: Int
        /// Seconds per decode step spent in the block projections alone and in the output
        /// head alone (one token through each `Linear`, without the rest of the graph),
        /// best of the repetitions.
        public let projectionSecondsPerToken: Double
        public let headSecondsPerToken: Double
    }

    public let model: TransformerModel
    public let pool: ThreadPool?
    public let configuration: Configuration

    public init(model: TransformerModel, pool: ThreadPool?, configuration: Configuration) throws {
        let c = configuration
        guard c.promptTokens >= 0, c.generatedTokens >= 0, c.repetitions >= 1 else {
            throw RuntimeError.badBenchmark("token counts must be ≥ 0 and repetitions ≥ 1")
        }
        guard c.promptTokens <= model.parameters.contextLength, c.generatedTokens <= model.parameters.contextLength else {
            throw RuntimeError.badBenchmark("\(max(c.promptTokens, c.generatedTokens)) tokens exceed the model's context of \(model.parameters.contextLength)")
        }
        self.model = model
        self.pool = pool
        self.configuration = c
    }

    public func run() throws -> Result {
        let c = configuration
        let session = InferenceSession(model: model, contextLength: max(1, c.promptTokens, c.generatedTokens), pool: pool,
                                       precision: c.precision)
        var random = RandomSource(seed: c.seed)
        let prompt = (0..<c.promptTokens).map { _ in Int32(truncatingIfNeeded: random.next() % UInt64(model.vocabularySize)) }
        let generated = (0..<c.generatedTokens).map { _ in Int32(truncatingIfNeeded: random.next() % UInt64(model.vocabularySize)) }

        func promptRun() throws -> Double {
            session.reset()
            let seconds = try Self.time { _ = try prompt.withUnsafeBufferPointer { try session.evaluate($0, logits: .last) } }
            return Double(prompt.count) / seconds
        }
        func generationRun(_ tokens: ArraySlice<Int32>) throws -> Double {
            session.reset()
            let seconds = try Self.time { for token in tokens { _ = try session.decode(token) } }
            return Double(tokens.count) / seconds
        }
        // Warm-up: page in the weights, size the scratch for both batch shapes.
        if !prompt.isEmpty { _ = try promptRun() }
        if !generated.isEmpty { _ = try generationRun(generated.prefix(1)) }
        var promptRates: [Double] = [], generationRates: [Double] = []
        var projectionSeconds = Double.infinity, headSeconds = Double.infinity
        for _ in 0..<c.repetitions {
            if !prompt.isEmpty { promptRates.append(try promptRun()) }
            if !generated.isEmpty { generationRates.append(try generationRun(generated[...])) }
            let (projections, head) = try session.timeProjectionsOnce(Self.time)
            projectionSeconds = min(projectionSeconds, projections)
            headSeconds = min(headSeconds, head)
        }
        return Result(prompt: prompt.isEmpty ? nil : Rate(samples: promptRates),
                      generation: generated.isEmpty ? nil : Rate(samples: generationRates),
                      weightBytesPerToken: session.weightBytesPerToken, projectionSecondsPerToken: projectionSeconds,
                      headSecondsPerToken: headSeconds)
    }

    private static func time(_ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        let d = clock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

extension InferenceSession {
    /// Weight bytes one decode step reads: every projection of every block and the head.
    public var weightBytesPerToken: Int { pass.weightBytesPerStep }

    /// Multiplies one token through every block projection, then through the head, nothing
    /// else, and returns the seconds of each part: the share of a decode step that the
    /// matrix kernels take (the cache and position are untouched).
    func timeProjectionsOnce(_ time: (() throws -> Void) throws -> Double) throws -> (projections: Double, head: Double) {
        let hp = model.parameters
        let e = hp.embeddingLength, ff = hp.feedForwardLength, kv = hp.headCountKV * hp.headDimension
        let s = ForwardScratch(parameters: hp, tokens: 1)
        let b = s.batch(1)
        for i in b.normed.indices { b.normed[i] = Float(i % 7) - 3 }
        for i in b.gate.indices { b.gate[i] = Float(i % 5) - 2 }
        let rows = LinearInput.quantizedRows(tokens: 1, precision: precision)
        let workspace = SplitWorkspace()
        let wide = try LinearInput(UnsafeBufferPointer(b.normed), tokens: 1, quantizingInto: s.activations(tokens: rows, cols: e),
                                   workspace: workspace)
        let deep = try LinearInput(UnsafeBufferPointer(b.gate), tokens: 1, quantizingInto: s.activations(tokens: rows, cols: ff),
                                   workspace: workspace)
        let logits = UnsafeMutableBufferPointer<Float>.allocate(capacity: model.vocabularySize)
        defer { logits.deallocate() }
        let projections = try time {
            for block in model.blocks {
                try block.query.forward(wide, precision: precision, into: b.query, pool: pool)
                try block.key.forward(wide, precision: precision, into: b.keys.rows(0..<1, width: kv), pool: pool)
                try block.value.forward(wide, precision: precision, into: b.values.rows(0..<1, width: kv), pool: pool)
                try block.attentionOutput.forward(wide, precision: precision, into: b.projection, pool: pool)
                try block.gate.forward(wide, precision: precision, into: b.up, pool: pool)
                try block.up.forward(wide, precision: precision, into: b.up, pool: pool)
                try block.down.forward(deep, precision: precision, into: b.projection, pool: pool)
            }
        }
        let head = try time { try outputHead.forward(wide, precision: precision, into: logits, pool: pool) }
        return (projections, head)
    }
}

extension LinearWeights {
    /// Bytes the kernels read for one pass over the matrix.
    var byteCount: Int {
        switch self {
        case .ternary(let m): m.byteCount
        case .blockQuant(let m): m.bytes.count
        case .float(let m): m.bytes.count
        }
    }
}
