/// Token texts, kinds and scores from `tokenizer.ggml.*`, plus the text → id index.
struct Vocabulary: Sendable {
    static let maxTokens = 1 << 22

    let texts: [String]
    let kinds: [TokenKind]
    let scores: [Float]
    let ids: [String: Int32]

    init(metadata: [String: GGUFValue]) throws {
        let key = "tokenizer.ggml.tokens"
        guard let raw = metadata[key] else { throw TokenizerError.missingKey(key) }
        guard case .array(.string, let items) = raw, !items.isEmpty, items.count <= Self.maxTokens else {
            throw TokenizerError.badValue(key: key, reason: "expected 1 to \(Self.maxTokens) strings")
        }
        texts = items.map { $0.stringValue ?? "" }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(texts.count)
        // The first occurrence wins when a vocabulary repeats a text, as in llama.cpp.
        for (i, t) in texts.enumerated() where ids[t] == nil { ids[t] = Int32(i) }
        self.ids = ids

        kinds = try Self.perToken(metadata, "tokenizer.ggml.token_type", count: texts.count, default: .normal) { v in
            v.intValue.flatMap { Int32(exactly: $0) }.flatMap(TokenKind.init(rawValue:))
        }
        scores = try Self.perToken(metadata, "tokenizer.ggml.scores", count: texts.count, default: 0) { v in
            v.doubleValue.map(Float.init)
        }
    }

    var count: Int { texts.count }

    private static func perToken<T>(
        _ metadata: [String: GGUFValue], _ key: String, count: Int, default fallback: T, _ convert: (GGUFValue) -> T?
    ) throws -> [T] {
        guard let raw = metadata[key] else { return Array(repeating: fallback, count: count) }
        guard let items = raw.arrayValue, items.count == count else {
            throw TokenizerError.badValue(key: key, reason: "expected an array of \(count) entries, one per token")
        }
        return try items.enumerated().map { i, v in
            guard let t = convert(v) else { throw TokenizerError.badValue(key: key, reason: "entry \(i) is \(v.summary)") }
            return t
        }
    }
}
