/// Why generation ended.
public enum FinishReason: String, Sendable, Codable {
    /// An end-of-generation token (EOS, EOT, `<|im_end|>`, …).
    case endOfGeneration = "eos"
    case stopString = "stop"
    case length
}

/// Everything that ends a generation: end tokens, stop strings and a token budget.
/// Feed each sampled token and its decoded text; show what `accept` returns.
public struct StopConditions: Sendable {
    public let endTokenIDs: Set<Int32>
    public let maxTokens: Int
    private var matcher: StopStringMatcher
    private var generated = 0

    public init(endTokenIDs: Set<Int32>, stopStrings: [String] = [], maxTokens: Int) {
        self.endTokenIDs = endTokenIDs
        self.maxTokens = max(0, maxTokens)
        matcher = StopStringMatcher(stopStrings)
    }

    /// Takes one sampled token and the text it decoded to; returns the text to show and,
    /// when generation is over, why (held-back text is flushed on EOS and length).
    public mutating func accept(token: Int32, text: String) -> (text: String, finish: FinishReason?) {
        generated += 1
        if endTokenIDs.contains(token) { return (matcher.finish(), .endOfGeneration) }
        let shown = matcher.feed(text)
        if matcher.stopped { return (shown, .stopString) }
        if generated >= maxTokens { return (shown + matcher.finish(), .length) }
        return (shown, nil)
    }
}
