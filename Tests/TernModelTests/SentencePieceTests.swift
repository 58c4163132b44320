import Testing
import TernModel

/// A tiny SentencePiece vocabulary written through the GGUF writer and read back.
@Suite struct SentencePieceTests {
    static func tokenizer(addSpacePrefix: Bool = true) throws -> Tokenizer {
        var tokens = ["<unk>", "<s>", "</s>"]
        var kinds: [Int32] = [2, 3, 3]
        for b in 0..<256 {
            tokens.append("<0x" + String(format2: b) + ">")
            kinds.append(6)
        }
        let pieces = ["▁", "h", "e", "l", "o", "w", "r", "d", "▁h", "▁he", "ll", "llo", "▁hello",
                      "▁w", "or", "▁wor", "ld", "▁world", "<tool>"]
        tokens += pieces
        kinds += pieces.map { $0 == "<tool>" ? 4 : 1 }
        // Longer pieces score higher, as in real SentencePiece models.
        let scores = tokens.enumerated().map { i, t in i < 259 ? Float(0) : Float(t.count) - Float(i) / 1000 }
        var w = try GGUFWriter()
        try w.set("tokenizer.ggml.model", .string("llama"))
        try w.set("tokenizer.ggml.tokens", .strings(tokens))
        try w.set("tokenizer.ggml.token_type", .array(.int32, kinds.map { .int32($0) }))
        try w.set("tokenizer.ggml.scores", .array(.float32, scores.map { .float32($0) }))
        try w.set("tokenizer.ggml.bos_token_id", .uint32(1))
        try w.set("tokenizer.ggml.eos_token_id", .uint32(2))
        try w.set("tokenizer.ggml.unknown_token_id", .uint32(0))
        try w.set("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix))
        return try Tokenizer(file: GGUFFile(bytes: w.serialized()))
    }

    @Test func mergesByScoreWithSpacePrefixAndBOS() throws {
        let t = try Self.tokenizer()
        let ids = t.encode("hello world")
        #expect(ids.map { t.text(of: $0)! } == ["<s>", "▁hello", "▁world"])
        #expect(t.decode(ids) == "<s>hello world")
        #expect(t.decode(Array(ids.dropFirst())) == "hello world")
    }

    @Test func byteFallbackForUnknownCharacters() throws {
        let t = try Self.tokenizer()
        let ids = t.encode("hi é", addBOS: false)
        #expect(ids.map { t.text(of: $0)! } == ["▁h", "<0x69>", "▁", "<0xC3>", "<0xA9>"])
        #expect(t.decode(ids) == "hi é")
        var stream = TokenStreamDecoder(tokenizer: t)
        #expect(ids.map { stream.append($0) } == ["h", "i", " ", "", "é"])
        #expect(stream.finish() == "")
    }

    @Test func incompleteBytesAtTheEndBecomeReplacementCharacters() throws {
        let t = try Self.tokenizer()
        let ids = t.encode("é", addBOS: false)
        var stream = TokenStreamDecoder(tokenizer: t)
        #expect(stream.append(ids[0]) == "")
        #expect(stream.append(ids[1]) == "")
        #expect(stream.finish() == "\u{FFFD}")
    }

    @Test func specialTokensInTextAndSpacePrefixAfterThem() throws {
        let t = try Self.tokenizer()
        let ids = t.encode("hello<tool>world", addBOS: false)
        // llama.cpp puts the space prefix before every text fragment that follows a special token.
        #expect(ids.map { t.text(of: $0)! } == ["▁hello", "<tool>", "▁world"])
        #expect(t.decode(ids) == "hello<tool> world")
        #expect(t.endOfGenerationIDs == [2])
        let noPrefix = try Self.tokenizer(addSpacePrefix: false)
        #expect(noPrefix.encode("hello", addBOS: false).map { noPrefix.text(of: $0)! } == ["h", "e", "llo"])
    }

    @Test func rejectsBrokenMetadata() throws {
        #expect(throws: TokenizerError.missingKey("tokenizer.ggml.model")) { try Tokenizer(metadata: [:]) }
        #expect(throws: TokenizerError.unsupportedModel("rwkv")) {
            try Tokenizer(metadata: ["tokenizer.ggml.model": .string("rwkv")])
        }
        #expect(throws: TokenizerError.unsupportedPreTokenizer("qwen2")) {
            try Tokenizer(metadata: [
                "tokenizer.ggml.model": .string("gpt2"), "tokenizer.ggml.pre": .string("qwen2"),
                "tokenizer.ggml.tokens": .strings(["a"]), "tokenizer.ggml.merges": .strings([]),
            ])
        }
        #expect(throws: TokenizerError.tokenIDOutOfRange(key: "tokenizer.ggml.eos_token_id", id: 5, vocabularySize: 1)) {
            try Tokenizer(metadata: [
                "tokenizer.ggml.model": .string("llama"), "tokenizer.ggml.tokens": .strings(["a"]),
                "tokenizer.ggml.eos_token_id": .uint32(5),
            ])
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(metadata: [
                "tokenizer.ggml.model": .string("llama"), "tokenizer.ggml.tokens": .strings(["a", "b"]),
                "tokenizer.ggml.scores": .array(.float32, [.float32(1)]),
            ])
        }
    }
}

private extension String {
    init(format2 value: Int) {
        let hex = String(value, radix: 16, uppercase: true)
        self = hex.count == 1 ? "0" + hex : hex
    }
}
