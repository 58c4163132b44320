/// Problems with a tokenizer's GGUF metadata.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case missingKey(String)
    case badValue(key: String, reason: String)
    case unsupportedModel(String)
    case unsupportedPreTokenizer(String)
    case tokenIDOutOfRange(key: String, id: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .missingKey(let k): return "tokenizer metadata key '\(k)' is missing"
        case .badValue(let k, let reason): return "tokenizer metadata key '\(k)' is invalid: \(reason)"
        case .unsupportedModel(let m):
            return "unsupported tokenizer model '\(m)' (tokenizer.ggml.model); supported: gpt2 (byte-level BPE), llama (SentencePiece)"
        case .unsupportedPreTokenizer(let p):
            return "unsupported pre-tokenizer '\(p)' (tokenizer.ggml.pre); supported: \(PreTokenizer.allCases.map(\.rawValue).joined(separator: ", "))"
        case .tokenIDOutOfRange(let k, let id, let n):
            return "tokenizer metadata key '\(k)' names token \(id), outside the vocabulary of \(n) tokens"
        }
    }
}
