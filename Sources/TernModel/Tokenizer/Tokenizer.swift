/// Text ↔ token ids for a GGUF model, matching llama.cpp token for token.
///
/// Encoding first cuts out special tokens spelled in the text (CONTROL, USER_DEFINED and
/// UNKNOWN tokens, longest first, as llama.cpp does with special parsing on), then runs the
/// vocabulary's algorithm on each remaining fragment.
public final class Tokenizer: Sendable {
    public enum Model: String, Sendable {
        /// Byte-level BPE (GPT-2 style), `tokenizer.ggml.model = gpt2`.
        case bytePairEncoding = "gpt2"
        /// SentencePiece-style, `tokenizer.ggml.model = llama`.
        case sentencePiece = "llama"
    }

    public let model: Model
    /// The pre-tokenizer (byte-level BPE only).
    public let preTokenizer: PreTokenizer?
    public let bosID: Int32?
    public let eosID: Int32?
    public let unknownID: Int32?
    public let paddingID: Int32?
    /// Whether `encode` starts with BOS by default (`tokenizer.ggml.add_bos_token`).
    public let addsBOS: Bool
    /// SentencePiece: a space is put before the text (`tokenizer.ggml.add_space_prefix`).
    public let addsSpacePrefix: Bool
    /// Tokens that end generation: EOS, EOT/EOM and well-known end markers of the vocabulary.
    public let endOfGenerationIDs: Set<Int32>

    private let vocabulary: Vocabulary
    private let bpe: BytePairEncoder?
    private let sentencePiece: SentencePieceEncoder?
    /// Special tokens as UTF-8, longest first.
    private let specials: [(bytes: [UInt8], id: Int32)]

    public convenience init(file: GGUFFile) throws {
        try self.init(metadata: file.metadata)
    }

    public init(metadata: [String: GGUFValue]) throws {
        let modelKey = "tokenizer.ggml.model"
        guard let modelName = metadata[modelKey]?.stringValue else { throw TokenizerError.missingKey(modelKey) }
        guard let model = Model(rawValue: modelName) else { throw TokenizerError.unsupportedModel(modelName) }
        self.model = model
        let vocabulary = try Vocabulary(metadata: metadata)
        self.vocabulary = vocabulary

        func tokenID(_ key: String) throws -> Int32? {
            guard let value = metadata[key] else { return nil }
            guard let id = value.intValue else { throw TokenizerError.badValue(key: key, reason: "expected a token id, found \(value.summary)") }
            // Some converters write -1 (or 2^32-1) for "none".
            if id < 0 || id == Int(UInt32.max) { return nil }
            guard id < vocabulary.count else {
                throw TokenizerError.tokenIDOutOfRange(key: key, id: id, vocabularySize: vocabulary.count)
            }
            return Int32(id)
        }
        func flag(_ key: String, default fallback: Bool) throws -> Bool {
            guard let value = metadata[key] else { return fallback }
            guard let b = value.boolValue else { throw TokenizerError.badValue(key: key, reason: "expected a bool, found \(value.summary)") }
            return b
        }
        bosID = try tokenID("tokenizer.ggml.bos_token_id")
        eosID = try tokenID("tokenizer.ggml.eos_token_id")
        unknownID = try tokenID("tokenizer.ggml.unknown_token_id")
        paddingID = try tokenID("tokenizer.ggml.padding_token_id")
        addsBOS = try flag("tokenizer.ggml.add_bos_token", default: model == .sentencePiece)
        addsSpacePrefix = try flag("tokenizer.ggml.add_space_prefix", default: model == .sentencePiece)

        var ends = Set([eosID, try tokenID("tokenizer.ggml.eot_token_id"), try tokenID("tokenizer.ggml.eom_token_id")].compactMap { $0 })
        for marker in ["<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<|endoftext|>", "<|end_of_text|>", "</s>"] {
            if let id = vocabulary.ids[marker], vocabulary.kinds[Int(id)] == .control { ends.insert(id) }
        }
        endOfGenerationIDs = ends

        switch model {
        case .bytePairEncoding:
            let preKey = "tokenizer.ggml.pre"
            // Files without the key predate it; llama.cpp then falls back to GPT-2 splitting.
            let preName = metadata[preKey]?.stringValue ?? "gpt2"
            guard let pre = PreTokenizer(rawValue: preName) else { throw TokenizerError.unsupportedPreTokenizer(preName) }
            preTokenizer = pre
            bpe = try BytePairEncoder(vocabulary: vocabulary, metadata: metadata, ignoreMerges: pre == .llamaBPE)
            sentencePiece = nil
        case .sentencePiece:
            preTokenizer = nil
            bpe = nil
            sentencePiece = SentencePieceEncoder(vocabulary: vocabulary, unknown: unknownID)
        }
        specials = vocabulary.kinds.indices
            .filter { vocabulary.kinds[$0].isMatchedInText && !vocabulary.texts[$0].isEmpty }
            .map { (Array(vocabulary.texts[$0].utf8), Int32($0)) }
            .sorted { $0.bytes.count > $1.bytes.count || ($0.bytes.count == $1.bytes.count && $0.id < $1.id) }
    }

    public var vocabularySize: Int { vocabulary.count }

    /// The id of the token spelled exactly `text`.
    public func id(of text: String) -> Int32? { vocabulary.ids[text] }

    /// The stored text of a token (byte-level BPE tokens are in GPT-2's byte characters).
    public func text(of id: Int32) -> String? {
        vocabulary.texts.indices.contains(Int(id)) ? vocabulary.texts[Int(id)] : nil
    }

    public func kind(of id: Int32) -> TokenKind? {
        vocabulary.kinds.indices.contains(Int(id)) ? vocabulary.kinds[Int(id)] : nil
    }

    /// Token ids of `text`. `addBOS` defaults to the model's own setting; with
    /// `parseSpecial`, special tokens written in the text (`<|im_start|>`) become their ids.
    public func encode(_ text: String, addBOS: Bool? = nil, parseSpecial: Bool = true) -> [Int32] {
        var output: [Int32] = []
        if addBOS ?? addsBOS, let bosID { output.append(bosID) }
        var previousWasSpecial = true
        for fragment in fragments(Array(text.utf8), parseSpecial: parseSpecial) {
            switch fragment {
            case .special(let id):
                output.append(id)
                previousWasSpecial = true
            case .text(let bytes):
                encodeText(bytes, spacePrefix: addsSpacePrefix && previousWasSpecial, into: &output)
                previousWasSpecial = false
            }
        }
        return output
    }

    /// The bytes a token stands for. Special tokens decode to their text; out-of-range ids
    /// decode to nothing.
    public func bytes(of id: Int32) -> [UInt8] {
        guard let text = text(of: id), let kind = kind(of: id) else { return [] }
        switch (model, kind) {
        case (.bytePairEncoding, .normal), (.bytePairEncoding, .byte):
            return ByteLevelEncoding.decode(text)
        case (.sentencePiece, .byte):
            if text.count == 6, text.hasPrefix("<0x"), let b = UInt8(text.dropFirst(3).prefix(2), radix: 16) { return [b] }
            return Array(text.utf8)
        case (.sentencePiece, .normal):
            return Array(text.replacing(SentencePieceEncoder.spaceMarker, with: " ").utf8)
        default:
            return Array(text.utf8)
        }
    }

    /// The text of a whole token sequence (invalid UTF-8 becomes U+FFFD).
    public func decode(_ ids: [Int32]) -> String {
        var decoder = TokenStreamDecoder(tokenizer: self)
        return ids.map { decoder.append($0) }.joined() + decoder.finish()
    }

    // MARK: - Internals

    private enum Fragment {
        case text([UInt8])
        case special(Int32)
    }

    private func fragments(_ utf8: [UInt8], parseSpecial: Bool) -> [Fragment] {
        var parts: [Fragment] = [.text(utf8)]
        guard parseSpecial else { return parts }
        for special in specials {
            var next: [Fragment] = []
            for part in parts {
                guard case .text(let bytes) = part else {
                    next.append(part)
                    continue
                }
                var start = 0
                var i = 0
                let pattern = special.bytes
                while i + pattern.count <= bytes.count {
                    if bytes[i] == pattern[0], bytes[i..<i + pattern.count].elementsEqual(pattern) {
                        if i > start { next.append(.text(Array(bytes[start..<i]))) }
                        next.append(.special(special.id))
                        i += pattern.count
                        start = i
                    } else {
                        i += 1
                    }
                }
                if start < bytes.count { next.append(.text(Array(bytes[start...]))) }
            }
            parts = next
        }
        return parts
    }

    private func encodeText(_ utf8: [UInt8], spacePrefix: Bool, into output: inout [Int32]) {
        let text = String(decoding: utf8, as: UTF8.self)
        if let sentencePiece {
            let spaced = (spacePrefix ? " " : "") + text
            sentencePiece.encode(spaced.replacing(" ", with: SentencePieceEncoder.spaceMarker), into: &output)
            return
        }
        guard let bpe, let preTokenizer else { return }
        let scalars = Array(text.unicodeScalars)
        // UTF-8 offset of every scalar, so pieces can be sliced out of the byte array.
        var offsets = [Int](repeating: 0, count: scalars.count + 1)
        for (i, s) in scalars.enumerated() { offsets[i + 1] = offsets[i] + UTF8.width(s) }
        let bytes = Array(text.utf8)
        for piece in preTokenizer.split(scalars) {
            bpe.encode(bytes[offsets[piece.lowerBound]..<offsets[piece.upperBound]], into: &output)
        }
    }
}
