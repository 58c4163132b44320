import TernMesh
import TernModel

extension LogprobEntry {
    init(_ logprob: TokenLogprob) {
        self.init(token: logprob.token, logprob: logprob.logprob, bytes: Array(logprob.bytes.prefix(Self.maxBytes)))
    }

    /// A token reply's entries (the sampled token's first) as the serving engine's value;
    /// nil when there are none.
    static func logprobs(_ entries: [LogprobEntry]) -> TokenLogprobs? {
        guard let sampled = entries.first else { return nil }
        func model(_ entry: LogprobEntry) -> TokenLogprob {
            TokenLogprob(token: entry.token, logprob: entry.logprob, bytes: entry.bytes)
        }
        return TokenLogprobs(sampled: model(sampled), top: entries.dropFirst().map(model))
    }

    /// The entries a token reply carries for `logprobs` (none when nil).
    static func entries(_ logprobs: TokenLogprobs?) -> [LogprobEntry] {
        guard let logprobs else { return [] }
        return ([logprobs.sampled] + logprobs.top.prefix(maxEntries - 1)).map(LogprobEntry.init)
    }
}
