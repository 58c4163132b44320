/// What a client asks the serving engine for: a continuation of `prompt`.
public struct ServingRequest: Sendable {
    public var prompt: [Int32]
    public var sampling: SamplingConfiguration
    /// Tokens to generate at most (0: none).
    public var maxTokens: Int
    public var stopStrings: [String]
    /// False runs to `maxTokens` through end-of-generation tokens (benchmarks).
    public var stopsAtEndOfGeneration: Bool
    /// Tokens this request already generated elsewhere (on a node that failed mid-stream).
    /// They are prefilled after the prompt and replayed through the stop conditions, the
    /// text decoder and the sampler's random draws without being reported again, so the
    /// request goes on exactly as it would have; they count in `maxTokens` and in the
    /// outcome's `completionTokens`.
    public var resumedTokens: [Int32]
    /// nil: no log-probabilities. k: each token comes with its log-probability and the k
    /// most likely tokens' (0…`TokenLogprobs.maxTop`).
    public var logprobs: Int?

    public init(prompt: [Int32], sampling: SamplingConfiguration = .greedy, maxTokens: Int, stopStrings: [String] = [],
                stopsAtEndOfGeneration: Bool = true, resumedTokens: [Int32] = [],
                logprobs: Int? = nil) {
        self.prompt = prompt
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.stopStrings = stopStrings
        self.stopsAtEndOfGeneration = stopsAtEndOfGeneration
        self.resumedTokens = resumedTokens
        self.logprobs = logprobs
    }
}

/// What the engine reports about one request, in order: its tokens as they are sampled,
/// then exactly one `finished` or `failed` (none after `cancel`).
public enum ServingEvent: Sendable {
    /// A sampled token and the visible text it completes (may be empty: part of a
    /// character, or text held back while it might begin a stop string), with its
    /// log-probabilities when the request asked for them.
    case token(Int32, text: String, logprobs: TokenLogprobs?)
    case finished(ServingOutcome)
    case failed(String)
}

/// How a request ended.
public struct ServingOutcome: Sendable, Equatable {
    public let finishReason: FinishReason
    public let promptTokens: Int
    /// Tokens sampled, including an end-of-generation token that ended it.
    public let completionTokens: Int
    /// Visible text not yet reported with a token (the end of a character the last token
    /// left incomplete); the request's text is its tokens' texts followed by this.
    public let trailingText: String

    public init(finishReason: FinishReason, promptTokens: Int, completionTokens: Int, trailingText: String) {
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.trailingText = trailingText
    }
}

/// Errors the engine answers a submission with.
public enum ServingError: Error, Equatable, CustomStringConvertible {
    case rejected(String)
    case shutDown

    public var description: String {
        switch self {
        case .rejected(let reason): reason
        case .shutDown: "the serving engine has shut down"
        }
    }
}
