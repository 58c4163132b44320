/// Token types as stored in `tokenizer.ggml.token_type` (llama.cpp's `llama_token_type`).
public enum TokenKind: Int32, Sendable {
    case normal = 1
    case unknown = 2
    /// Special tokens such as `<|im_start|>`: matched verbatim in input text.
    case control = 3
    /// Added tokens: matched verbatim in input text, decoded verbatim.
    case userDefined = 4
    case unused = 5
    /// SentencePiece byte-fallback tokens `<0xNN>`.
    case byte = 6

    /// Tokens that input text can spell out literally.
    var isMatchedInText: Bool { self == .control || self == .userDefined || self == .unknown }
}
