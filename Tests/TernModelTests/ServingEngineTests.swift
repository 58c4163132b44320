import Foundation
import Testing
import TernKernels
import TernModel

/// Continuous batching on real models: many requests at once — chunked prefill, admission
/// mid-flight, preemption in a small cache, cancellation — give each request exactly the
/// tokens `Generator` gives it alone, and every KV block comes back.
@Suite("Serving engine: batched decode equals sequential decode")
struct ServingEngineTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let model: String
        let adapter: Bool
        var testDescription: String { "\(model)\(adapter ? " + LoRA" : "")" }
    }

    static let cases = [
        Case(model: TestFixtures.smolLM2, adapter: false), Case(model: TestFixtures.smolLM2, adapter: true),
        Case(model: TestFixtures.bitnetTiny, adapter: false), Case(model: TestFixtures.bitnetTiny, adapter: true),
    ]

    /// A rank-4 adapter on Q, V and down of every layer with random, non-zero B.
    static func randomAdapter(for file: GGUFFile) throws -> LoRAAdapter {
        let hp = try ModelHyperParameters(metadata: file.metadata)
        var random = RandomSource(seed: 99)
        var adapter = LoRAAdapter(rank: 4, alpha: 8)
        for layer in 0..<hp.blockCount {
            for target in [LoRATarget.attentionQuery, .attentionValue, .feedForwardDown] {
                let site = LoRASite(layer: layer, target: target)
                let base = try #require(file.tensor(named: site.baseTensorName))
                var weights = LoRAWeights.initial(inputs: base.rowLength, outputs: base.rowCount, rank: 4, random: &random)
                weights.b = weights.b.map { _ in Float(random.nextUnit() - 0.5) * 0.02 }
                adapter.weights[site] = weights
            }
        }
        return adapter
    }

    static func load(_ c: Case) throws -> (TransformerModel, Tokenizer) {
        let file = try GGUFFile(path: try TestFixtures.modelPath(c.model))
        let model = try TransformerModel(file: file, adapter: c.adapter ? try randomAdapter(for: file) : nil)
        return (model, try Tokenizer(file: file))
    }

    /// Prompts of assorted lengths (one longer than a pass's row budget), greedy and seeded.
    static func requests(_ tokenizer: Tokenizer) throws -> [ServingRequest] {
        let texts = [
            "The capital of France is",
            "<|im_start|>user\nWrite a short poem about the sea, the wind, the gulls and the boats that sail at dawn.<|im_end|>\n<|im_start|>assistant\n",
            "1, 2, 3, 4,",
            "Once upon a time",
            "def fibonacci(n):",
        ]
        return try texts.enumerated().map { index, text in
            var sampling = SamplingConfiguration.greedy
            if index % 2 == 1 {
                sampling = SamplingConfiguration()
                sampling.temperature = 0.9
                sampling.seed = UInt64(100 + index)
            }
            return ServingRequest(prompt: try tokenizer.encode(text), sampling: sampling, maxTokens: 10 + 3 * index)
        }
    }

    static func alone(_ request: ServingRequest, model: TransformerModel, tokenizer: Tokenizer) throws -> (tokens: [Int32], text: String) {
        let session = InferenceSession(model: model, contextLength: 256, pool: ThreadPool(threads: 2))
        let result = try Generator(session: session, tokenizer: tokenizer)
            .generate(prompt: request.prompt, sampling: request.sampling, maxTokens: request.maxTokens, stopStrings: request.stopStrings)
        return (result.tokens, result.text)
    }

    /// Collects one request's events; `wait` blocks until it ended (with a deadline).
    final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private let done = DispatchSemaphore(value: 0)
        private(set) var tokens: [Int32] = []
        /// The text reported with each token.
        private(set) var pieces: [String] = []
        private(set) var logprobs: [TokenLogprobs?] = []
        private(set) var text = ""
        private(set) var outcome: ServingOutcome?
        private(set) var failure: String?

        func receive(_ event: ServingEvent) {
            lock.lock()
            defer { lock.unlock() }
            switch event {
            case .token(let id, let piece, let tokenLogprobs):
                tokens.append(id)
                logprobs.append(tokenLogprobs)
                pieces.append(piece)
                text += piece
            case .finished(let outcome):
                text += outcome.trailingText
                self.outcome = outcome
                done.signal()
            case .failed(let reason):
                failure = reason
                done.signal()
            }
        }

        func wait(seconds: Double = 300) -> Bool { done.wait(timeout: .now() + seconds) == .success }

        var count: Int {
            lock.lock()
            defer { lock.unlock() }
            return tokens.count
        }
    }

    static func engine(_ model: TransformerModel, _ tokenizer: Tokenizer, cacheTokens: Int = 2048) -> ServingEngine {
        var configuration = ServingEngine.Configuration(cacheTokens: cacheTokens, contextLength: 256)
        configuration.maxBatchTokens = 24
        return ServingEngine(model: model, tokenizer: tokenizer, pool: ThreadPool(threads: 2), configuration: configuration)
    }

    @Test(arguments: cases)
    func batchedEqualsAlone(_ c: Case) throws {
        let (model, tokenizer) = try Self.load(c)
        let requests = try Self.requests(tokenizer)
        let expected = try requests.map { try Self.alone($0, model: model, tokenizer: tokenizer) }
        // A roomy cache, and one of 6 blocks where sequences must be preempted and recomputed.
        for cacheTokens in [2048, 96] {
            let engine = Self.engine(model, tokenizer, cacheTokens: cacheTokens)
            defer { engine.shutDown() }
            let collectors = requests.map { _ in Collector() }
            // Three now, two more once decoding is under way (admitted mid-flight).
            for i in 0..<3 { try engine.submit(requests[i], onEvent: collectors[i].receive) }
            let deadline = Date().addingTimeInterval(120)
            while collectors[0].count < 2 && Date() < deadline { usleep(1000) }
            for i in 3..<5 { try engine.submit(requests[i], onEvent: collectors[i].receive) }
            for (i, collector) in collectors.enumerated() {
                #expect(collector.wait(), "request \(i) did not finish")
                #expect(collector.failure == nil)
                #expect(collector.tokens == expected[i].tokens, "request \(i), cache \(cacheTokens)")
                #expect(collector.text == expected[i].text)
                #expect(collector.outcome?.completionTokens == expected[i].tokens.count)
            }
            let idle = try #require(Self.eventually { engine.statistics.running == 0 ? engine.statistics : nil })
            #expect(idle.usedBlocks == 0 && idle.blocksHeld == 0 && idle.waiting == 0)
            #expect(idle.tokensGenerated == expected.reduce(0) { $0 + $1.tokens.count })
            // Five requests over far fewer passes than one at a time would take.
            if cacheTokens == 2048 { #expect(idle.passes < idle.tokensGenerated) }
        }
    }

    @Test func cancellationFreesBlocksAndLeavesOthersUnchanged() throws {
        let (model, tokenizer) = try Self.load(Case(model: TestFixtures.bitnetTiny, adapter: false))
        var long = ServingRequest(prompt: try tokenizer.encode("The meaning of life is"), maxTokens: 200)
        long.sampling = .greedy
        let short = ServingRequest(prompt: try tokenizer.encode("Once upon a time"), maxTokens: 12)
        let expected = try Self.alone(short, model: model, tokenizer: tokenizer)
        let engine = Self.engine(model, tokenizer)
        defer { engine.shutDown() }
        let cancelled = Collector(), kept = Collector()
        let id = try engine.submit(long, onEvent: cancelled.receive)
        try engine.submit(short, onEvent: kept.receive)
        let deadline = Date().addingTimeInterval(120)
        while cancelled.count < 3 && Date() < deadline { usleep(1000) }
        engine.cancel(id)
        #expect(kept.wait())
        #expect(kept.tokens == expected.tokens)
        let idle = try #require(Self.eventually { engine.statistics.running == 0 ? engine.statistics : nil })
        #expect(idle.usedBlocks == 0 && idle.blocksHeld == 0)
        #expect(cancelled.outcome == nil && cancelled.count < 200)
    }

    @Test func badRequestsAreRefusedAtSubmission() throws {
        let (model, tokenizer) = try Self.load(Case(model: TestFixtures.bitnetTiny, adapter: false))
        let engine = Self.engine(model, tokenizer, cacheTokens: 64)
        defer { engine.shutDown() }
        #expect(throws: ServingError.self) { try engine.submit(ServingRequest(prompt: [], maxTokens: 4)) { _ in } }
        #expect(throws: ServingError.self) { try engine.submit(ServingRequest(prompt: Array(repeating: 1, count: 64), maxTokens: 4)) { _ in } }
        #expect(throws: ServingError.self) { try engine.submit(ServingRequest(prompt: [1], maxTokens: -1)) { _ in } }
        #expect(throws: ServingError.self) { try engine.submit(ServingRequest(prompt: [Int32(model.vocabularySize)], maxTokens: 1)) { _ in } }
        let none = Collector()
        try engine.submit(ServingRequest(prompt: [1, 2], maxTokens: 0), onEvent: none.receive)
        #expect(none.wait() && none.outcome?.completionTokens == 0)
    }

    /// A request resumed after k of its tokens (as a node that takes over from a failed one
    /// resumes it) reports exactly the rest: the same tokens, the same pieces of text and the
    /// same outcome, greedy or seeded, across a stop string held back over the break.
    @Test(arguments: [TestFixtures.smolLM2, TestFixtures.bitnetTiny])
    func resumedRequestContinuesExactly(_ name: String) throws {
        let (model, tokenizer) = try Self.load(Case(model: name, adapter: false))
        let all = try Self.requests(tokenizer)
        var stopping = all[1]
        stopping.stopStrings = ["the", "\n\n"]
        let requests = [all[0], all[1], stopping]
        let engine = Self.engine(model, tokenizer)
        defer { engine.shutDown() }
        for (index, request) in requests.enumerated() {
            let whole = Collector()
            try engine.submit(request, onEvent: whole.receive)
            #expect(whole.wait())
            let outcome = try #require(whole.outcome, "request \(index): \(whole.failure ?? "")")
            for k in Set([1, whole.tokens.count / 2, whole.tokens.count]) where k <= whole.tokens.count {
                var resumed = request
                resumed.resumedTokens = Array(whole.tokens.prefix(k))
                let rest = Collector()
                try engine.submit(resumed, onEvent: rest.receive)
                #expect(rest.wait())
                #expect(rest.tokens == Array(whole.tokens.dropFirst(k)), "request \(index) resumed after \(k)")
                #expect(rest.pieces == Array(whole.pieces.dropFirst(k)), "request \(index) resumed after \(k)")
                #expect(rest.outcome == outcome, "request \(index) resumed after \(k)")
            }
        }
        #expect(throws: ServingError.self) {
            try engine.submit(ServingRequest(prompt: [1], maxTokens: 4, resumedTokens: [Int32(model.vocabularySize)])) { _ in }
        }
    }

    /// Log-probabilities come with every token when asked for: the sampled token's, and the
    /// k most likely, best first — the greedy token among them at the top — normalized over
    /// the vocabulary; asking for them changes no token.
    @Test func logprobsComeWithEveryTokenAndChangeNothing() throws {
        let (model, tokenizer) = try Self.load(Case(model: TestFixtures.bitnetTiny, adapter: false))
        let engine = Self.engine(model, tokenizer)
        defer { engine.shutDown() }
        let plain = ServingRequest(prompt: try tokenizer.encode("Once upon a time"), maxTokens: 8)
        var asking = plain
        asking.logprobs = 4
        let (without, with) = (Collector(), Collector())
        try engine.submit(plain, onEvent: without.receive)
        try engine.submit(asking, onEvent: with.receive)
        #expect(without.wait() && with.wait())
        #expect(with.tokens == without.tokens && without.logprobs.allSatisfy { $0 == nil })
        #expect(with.logprobs.count == with.tokens.count)
        for (token, entry) in zip(with.tokens, with.logprobs) {
            let logprobs = try #require(entry)
            #expect(logprobs.sampled.token == token && logprobs.sampled.bytes == tokenizer.bytes(of: token))
            #expect(logprobs.top.count == 4 && logprobs.top[0].token == token)
            #expect(logprobs.top.map(\.logprob) == logprobs.top.map(\.logprob).sorted(by: >))
            #expect(logprobs.top.allSatisfy { $0.logprob <= 0 } && logprobs.top.reduce(0) { $0 + exp(Double($1.logprob)) } <= 1.0001)
        }
        // Normalized: on a fixed row, the probabilities of every token add up to 1.
        let logits: [Float] = [2, -1, 0.5, 3, 3, -7]
        let all = logits.withUnsafeBufferPointer { TokenLogprobs.of(logits: $0, sampled: 1, top: 6, tokenizer: tokenizer) }
        #expect(abs(all.top.reduce(0) { $0 + exp(Double($1.logprob)) } - 1) < 1e-5)
        #expect(all.top.map(\.token) == [3, 4, 0, 2, 1, 5], "ties go to the lower id")
        #expect(abs(Double(all.sampled.logprob) - (-1 - log(logits.reduce(0) { $0 + exp(Double($1)) }))) < 1e-5)
        #expect(throws: ServingError.self) { try engine.submit(ServingRequest(prompt: [1], maxTokens: 1, logprobs: 21)) { _ in } }
    }

    /// Polls `value` until it is non-nil or 60 s pass.
    static func eventually<T>(_ value: () -> T?) -> T? {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let v = value() { return v }
            usleep(2000)
        }
        return nil
    }
}
