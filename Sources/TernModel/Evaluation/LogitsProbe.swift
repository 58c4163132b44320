/// What `tern logits` writes per prompt: its tokens and, for every position, the most
/// likely next tokens — the line format of the shared reference files, so a run can be
/// compared with llama.cpp's and the float reference's directly.
public struct LogitsRecord: Sendable, Encodable {
    public let text: String
    public let tokens: [Int32]
    /// Per position, the K most likely next tokens as `[id, log_prob]`.
    public let top: [[RankedToken]]
}

/// Runs whole prompts through a session and ranks the next token at every position.
public struct LogitsProbe {
    public let session: InferenceSession
    public let tokenizer: Tokenizer

    public init(session: InferenceSession, tokenizer: Tokenizer) {
        self.session = session
        self.tokenizer = tokenizer
    }

    /// The record of `text` (special tokens parsed) with the `k` best tokens per position.
    /// The session starts over for each prompt.
    public func record(_ text: String, top k: Int) throws -> LogitsRecord {
        let tokens = tokenizer.encode(text)
        guard !tokens.isEmpty else { throw RuntimeError.emptyPrompt }
        guard tokens.count <= session.capacity else {
            throw RuntimeError.contextFull(position: 0, tokens: tokens.count, capacity: session.capacity)
        }
        session.reset()
        let logits = try session.forward(tokens, logits: .all)
        let vocabulary = session.model.vocabularySize
        let top = tokens.indices.map { position in
            topLogProbabilities(logits[(position * vocabulary)..<((position + 1) * vocabulary)], k: k)
        }
        return LogitsRecord(text: text, tokens: tokens, top: top)
    }
}
