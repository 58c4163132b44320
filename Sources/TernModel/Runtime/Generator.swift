/// What a generation produced and how long it took.
public struct GenerationResult: Sendable {
    public let text: String
    public let tokens: [Int32]
    public let finishReason: FinishReason
    public let promptTokenCount: Int
    /// Wall time of the prompt's forward pass (prefill) and of the decode steps.
    public let promptSeconds: Double
    public let decodeSeconds: Double

    /// Generated tokens per second of decode time (the first token comes from the prefill).
    public var decodeTokensPerSecond: Double {
        tokens.count > 1 && decodeSeconds > 0 ? Double(tokens.count - 1) / decodeSeconds : 0
    }
}

/// Continues a prompt: prefills it in one batch, then decodes one token at a time with a
/// `Sampler`, streaming text as soon as whole characters are known and stopping at an
/// end-of-generation token, a stop string, the token budget or a full context.
public struct Generator {
    public let session: InferenceSession
    public let tokenizer: Tokenizer

    public init(session: InferenceSession, tokenizer: Tokenizer) {
        self.session = session
        self.tokenizer = tokenizer
    }

    /// Generates after `prompt` (the session starts over). `onText` receives each piece
    /// of visible text in order; their concatenation is the result's `text`.
    public func generate(prompt: [Int32], sampling: SamplingConfiguration, maxTokens: Int,
                         stopStrings: [String] = [], onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        guard !prompt.isEmpty else { throw RuntimeError.emptyPrompt }
        session.reset()
        let clock = ContinuousClock()
        let started = clock.now
        var logits = try session.forward(prompt, logits: .last)
        let promptDone = clock.now

        var sampler = Sampler(sampling)
        var stop = StopConditions(endTokenIDs: tokenizer.endOfGenerationIDs, stopStrings: stopStrings, maxTokens: maxTokens)
        var decoder = TokenStreamDecoder(tokenizer: tokenizer)
        var history = prompt
        var generated: [Int32] = []
        var text = ""
        var finish = FinishReason.length
        func emit(_ piece: String) {
            guard !piece.isEmpty else { return }
            text += piece
            onText(piece)
        }

        while maxTokens > 0 {
            let token = try sampler.sample(logits: logits, history: history)
            generated.append(token)
            history.append(token)
            let accepted = stop.accept(token: token, text: decoder.append(token))
            emit(accepted.text)
            if let reason = accepted.finish {
                finish = reason
                break
            }
            if session.position >= session.capacity { break }
            logits = try session.forward([token], logits: .last)
        }
        if finish != .stopString { emit(decoder.finish()) }
        let seconds = { (d: Duration) in Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        return GenerationResult(text: text, tokens: generated, finishReason: finish, promptTokenCount: prompt.count,
                                promptSeconds: seconds(promptDone - started), decodeSeconds: seconds(clock.now - promptDone))
    }
}
