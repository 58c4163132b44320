import Foundation
import TernKernels

/// Serves many requests on one model at once (continuous batching): a thread of its own
/// runs the `ServingScheduler`'s passes through one `BatchForward` over a paged KV cache,
/// so every active sequence decodes in the same forward pass (the weights stream once per
/// step, whatever the number of streams) and prompts are prefilled in chunks between
/// decode steps. Requests are admitted and cancelled between passes.
///
/// Each request samples with its own `Sampler` (its own seed) and stops on its own
/// conditions, exactly as `Generator` does for one request, and the forward pass gives a
/// sequence the same bits whatever shares its batch — so a request gets the tokens it
/// would get alone.
///
/// Events are delivered on the engine's thread: handlers must return quickly. The thread
/// holds the engine until `shutDown`.
public final class ServingEngine: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// KV cache size in tokens, shared by all sequences (rounded up to whole blocks).
        public var cacheTokens: Int
        /// Positions one sequence may reach (defaults to the model's context length).
        public var contextLength: Int?
        public var maxBatchTokens = ServingDefaults.maxBatchTokens
        public var maxSequences = ServingDefaults.maxSequences
        public var precision: MatmulPrecision = .int8Activations

        public init(cacheTokens: Int, contextLength: Int? = nil) {
            self.cacheTokens = cacheTokens
            self.contextLength = contextLength
        }
    }

    public let model: TransformerModel
    public let tokenizer: Tokenizer
    public let configuration: Configuration
    /// Positions one sequence may fill.
    public let positionLimit: Int
    public let promptLimit: Int

    private let pass: BatchForward
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var submitted: [(UInt64, ServingRequest, @Sendable (ServingEvent) -> Void)] = []
    private var cancelled: Set<UInt64> = []
    private var nextID: UInt64 = 1
    private var stopping = false
    private var stopped = false
    private var published = Statistics()
    // Owned by the engine thread:
    private var scheduler: ServingScheduler
    private var requests: [UInt64: RequestState] = [:]
    private var passes = 0
    private var tokensGenerated = 0

    /// What the engine holds now.
    public struct Statistics: Sendable, Equatable {
        public var waiting = 0
        public var running = 0
        public var usedBlocks = 0
        public var blocksHeld = 0
        public var totalBlocks = 0
        public var passes = 0
        public var tokensGenerated = 0
    }

    public init(model: TransformerModel, tokenizer: Tokenizer, pool: ThreadPool?, configuration: Configuration) {
        let hp = model.parameters
        self.model = model
        self.tokenizer = tokenizer
        self.configuration = configuration
        let blockTokens = ServingDefaults.blockTokens
        let blockCount = max(1, (configuration.cacheTokens + blockTokens - 1) / blockTokens)
        let context = max(2, configuration.contextLength ?? hp.contextLength)
        var schedule = ServingScheduler.Configuration(blockCount: blockCount, maxPositions: context)
        schedule.blockTokens = blockTokens
        schedule.maxBatchTokens = max(1, configuration.maxBatchTokens)
        schedule.maxSequences = max(1, configuration.maxSequences)
        scheduler = ServingScheduler(schedule)
        positionLimit = scheduler.positionLimit
        promptLimit = scheduler.promptLimit
        let cache = PagedKVCache(layers: hp.blockCount, kvHeads: hp.headCountKV, headDimension: hp.headDimension,
                                 blockTokens: blockTokens, blockCount: blockCount)
        pass = BatchForward(model: model, cache: cache, maxPositions: positionLimit, pool: pool,
                            precision: configuration.precision)
        published.totalBlocks = blockCount
        let thread = Thread { [self] in loop() }
        thread.name = "tern-serving"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues `request`; `onEvent` receives its tokens and its end on the engine's thread.
    /// Returns the id `cancel` takes.
    @discardableResult
    public func submit(_ request: ServingRequest, onEvent: @escaping @Sendable (ServingEvent) -> Void) throws(ServingError) -> UInt64 {
        guard !request.prompt.isEmpty else { throw .rejected("the prompt encodes to no tokens") }
        guard request.prompt.count <= promptLimit else {
            throw .rejected("the prompt has \(request.prompt.count) tokens; this model serves at most \(promptLimit) per request")
        }
        guard request.maxTokens >= 0 else { throw .rejected("max tokens must not be negative (got \(request.maxTokens))") }
        if let k = request.logprobs, !(0...TokenLogprobs.maxTop).contains(k) {
            throw .rejected("log-probabilities come with 0 to \(TokenLogprobs.maxTop) alternatives (got \(k))")
        }
        guard request.prompt.count + request.resumedTokens.count <= positionLimit else {
            throw .rejected("the prompt and \(request.resumedTokens.count) resumed tokens exceed the \(positionLimit) positions of a sequence")
        }
        if let bad = (request.prompt + request.resumedTokens).first(where: { $0 < 0 || Int($0) >= model.vocabularySize }) {
            throw .rejected("token id \(bad) is outside the vocabulary of \(model.vocabularySize) tokens")
        }
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw .shutDown }
        let id = nextID
        nextID += 1
        submitted.append((id, request, onEvent))
        published.waiting += 1
        condition.signal()
        return id
    }

    /// Stops `id` between passes and frees its blocks; it reports nothing more.
    public func cancel(_ id: UInt64) {
        condition.lock()
        cancelled.insert(id)
        condition.signal()
        condition.unlock()
    }

    /// Weight bytes every forward pass reads, whatever the number of streams in it.
    public var weightBytesPerPass: Int { pass.weightBytesPerStep }

    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return published
    }

    /// Fails what is queued or running and stops the thread; waits until it has.
    public func shutDown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    // MARK: - The engine thread

    private struct RequestState {
        let request: ServingRequest
        let onEvent: @Sendable (ServingEvent) -> Void
        var sampler: Sampler
        var stop: StopConditions
        var decoder: TokenStreamDecoder
        var generated = 0
    }

    private func loop() {
        while true {
            condition.lock()
            while submitted.isEmpty && cancelled.isEmpty && scheduler.isIdle && !stopping { condition.wait() }
            let arrivals = submitted, cancellations = cancelled, exiting = stopping
            submitted.removeAll()
            cancelled.removeAll()
            condition.unlock()

            if exiting {
                for (_, _, onEvent) in arrivals { onEvent(.failed(ServingError.shutDown.description)) }
                for (id, state) in requests {
                    scheduler.finish(id)
                    state.onEvent(.failed(ServingError.shutDown.description))
                }
                requests.removeAll()
                publish()
                condition.lock()
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            for (id, request, onEvent) in arrivals {
                admit(id: id, request: request, onEvent: onEvent)
            }
            for id in cancellations {
                scheduler.finish(id)
                requests[id] = nil
            }
            if let batch = scheduler.nextBatch() { run(batch) }
            publish()
        }
    }

    private func admit(id: UInt64, request: ServingRequest, onEvent: @escaping @Sendable (ServingEvent) -> Void) {
        guard request.maxTokens > 0 else {
            onEvent(.finished(ServingOutcome(finishReason: .length, promptTokens: request.prompt.count, completionTokens: 0,
                                             trailingText: "")))
            return
        }
        var state = RequestState(
            request: request, onEvent: onEvent, sampler: Sampler(request.sampling),
            stop: StopConditions(endTokenIDs: request.stopsAtEndOfGeneration ? tokenizer.endOfGenerationIDs : [], stopStrings: request.stopStrings,
                                 maxTokens: request.maxTokens),
            decoder: TokenStreamDecoder(tokenizer: tokenizer))
        // A resumed request replays what it generated before, silently: its text was shown.
        var finish: FinishReason?
        for token in request.resumedTokens where finish == nil {
            state.generated += 1
            state.sampler.skipDraw()
            finish = state.stop.accept(token: token, text: state.decoder.append(token)).finish
        }
        let sequence = request.prompt + request.resumedTokens
        if finish == nil, !request.resumedTokens.isEmpty, sequence.count >= positionLimit { finish = .length }
        if let finish {
            onEvent(.finished(ServingOutcome(finishReason: finish, promptTokens: request.prompt.count, completionTokens: state.generated,
                                             trailingText: finish == .stopString ? "" : state.decoder.finish())))
            return
        }
        do {
            try scheduler.submit(id: id, prompt: sequence)
        } catch {
            onEvent(.failed(error.description))
            return
        }
        requests[id] = state
    }

    private func run(_ batch: ServingBatch) {
        let tokens = batch.entries.flatMap(\.tokens)
        let sequences = batch.entries.map {
            BatchSequence(tokens: $0.count, start: $0.start, blocks: $0.blocks, logits: $0.wantsLogits ? .last : nil)
        }
        let logits: UnsafeBufferPointer<Float>
        do {
            logits = try tokens.withUnsafeBufferPointer { try pass.run($0, sequences: sequences) }
        } catch {
            for entry in batch.entries { end(entry.id, with: .failed("forward pass failed: \(error)")) }
            return
        }
        passes += 1
        let vocabulary = model.vocabularySize
        var row = 0
        for entry in batch.entries where entry.wantsLogits {
            defer { row += 1 }
            guard var state = requests[entry.id], let history = scheduler.tokens(of: entry.id) else { continue }
            let token: Int32
            do {
                token = try state.sampler.sample(logits: Array(logits[(row * vocabulary)..<((row + 1) * vocabulary)]),
                                                 history: history)
            } catch {
                end(entry.id, with: .failed("sampling failed: \(error)"))
                continue
            }
            state.generated += 1
            tokensGenerated += 1
            let accepted = state.stop.accept(token: token, text: state.decoder.append(token))
            let logprobs = state.request.logprobs.map { k in
                TokenLogprobs.of(logits: UnsafeBufferPointer(rebasing: logits[(row * vocabulary)..<((row + 1) * vocabulary)]),
                                 sampled: token, top: k, tokenizer: tokenizer)
            }
            state.onEvent(.token(token, text: accepted.text, logprobs: logprobs))
            scheduler.append(token, to: entry.id)
            var finish = accepted.finish
            if finish == nil, !scheduler.hasRoom(entry.id) { finish = .length }
            if let finish {
                // Bytes still held for an unfinished character (as `Generator` flushes them).
                let rest = finish == .stopString ? "" : state.decoder.finish()
                end(entry.id, with: .finished(ServingOutcome(finishReason: finish, promptTokens: state.request.prompt.count,
                                                             completionTokens: state.generated, trailingText: rest)))
            } else {
                requests[entry.id] = state
            }
        }
    }

    private func end(_ id: UInt64, with event: ServingEvent) {
        scheduler.finish(id)
        if let state = requests.removeValue(forKey: id) { state.onEvent(event) }
    }

    private func publish() {
        condition.lock()
        published.waiting = scheduler.waitingCount + submitted.count
        published.running = scheduler.runningCount
        published.usedBlocks = scheduler.usedBlocks
        published.blocksHeld = scheduler.blocksHeld
        published.passes = passes
        published.tokensGenerated = tokensGenerated
        condition.unlock()
    }
}
