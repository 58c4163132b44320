import Foundation

/// A token and its log-probability under the model (the log-softmax of its raw logits:
/// temperature 1, no penalties — the distribution the model itself gives), with its bytes
/// for clients that show tokens.
public struct TokenLogprob: Sendable, Equatable {
    public var token: Int32
    public var logprob: Float
    public var bytes: [UInt8]

    public init(token: Int32, logprob: Float, bytes: [UInt8]) {
        self.token = token
        self.logprob = logprob
        self.bytes = bytes
    }
}

/// What a request that asked for log-probabilities gets with each token: the sampled one's,
/// and the `k` most likely tokens' at that position, most likely first.
public struct TokenLogprobs: Sendable, Equatable {
    public var sampled: TokenLogprob
    public var top: [TokenLogprob]

    public init(sampled: TokenLogprob, top: [TokenLogprob]) {
        self.sampled = sampled
        self.top = top
    }

    /// Most alternatives a request may ask for (OpenAI's `top_logprobs` limit).
    public static let maxTop = 20

    /// Log-softmax of `logits` at `sampled` and at the `k` largest logits (ties to the
    /// lower id): one pass for the normalizer, one for the top `k`.
    public static func of(logits: UnsafeBufferPointer<Float>, sampled: Int32, top k: Int, tokenizer: Tokenizer) -> TokenLogprobs {
        var maxLogit = -Float.infinity
        for value in logits where !value.isNaN { maxLogit = max(maxLogit, value) }
        var total = 0.0
        for value in logits where !value.isNaN { total += exp(Double(value) - Double(maxLogit)) }
        let logTotal = Double(maxLogit) + log(total)
        func logprob(_ id: Int) -> Float {
            let value = logits[id]
            return value.isNaN ? -.infinity : Float(Double(value) - logTotal)
        }
        var best: [Int] = []
        if k > 0 {
            best.reserveCapacity(k + 1)
            for id in logits.indices where !logits[id].isNaN {
                if best.count == k, logits[id] <= logits[best[k - 1]] { continue }
                var insertAt = best.count
                while insertAt > 0, logits[id] > logits[best[insertAt - 1]] { insertAt -= 1 }
                best.insert(id, at: insertAt)
                if best.count > k { best.removeLast() }
            }
        }
        func entry(_ id: Int) -> TokenLogprob {
            TokenLogprob(token: Int32(id), logprob: logprob(id), bytes: tokenizer.bytes(of: Int32(id)))
        }
        return TokenLogprobs(sampled: entry(Int(sampled)), top: best.map(entry))
    }
}
