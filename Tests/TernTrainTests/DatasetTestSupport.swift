import Foundation
import TernTrain

/// Fixtures for the dataset tests: a byte-level tokenizer built in memory (every byte is
/// one token, so expected token counts are byte counts), temporary data files, and the
/// SmolLM2 model when the cache has it.
enum DatasetTestSupport {
    static let endOfText: Int32 = 256
    static let imStart: Int32 = 257
    static let imEnd: Int32 = 258

    /// GPT-2's byte → character table (printable bytes stand for themselves, the others
    /// are moved to U+0100 and up, in byte order).
    static let byteCharacters: [String] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        var shifted = 0
        return (0..<256).map { byte in
            if printable.contains(byte) { return String(UnicodeScalar(UInt8(byte))) }
            defer { shifted += 1 }
            return String(UnicodeScalar(UInt32(256 + shifted))!)
        }
    }()

    static let beginOfText: Int32 = 259

    /// 256 byte tokens, then `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` (EOS) and Llama 3's
    /// `<|begin_of_text|>` (BOS), `<|start_header_id|>`, `<|end_header_id|>`, `<|eot_id|>`; no merges.
    static let byteTokenizer = makeByteTokenizer(addsBOS: false)

    static func makeByteTokenizer(addsBOS: Bool) -> Tokenizer {
        let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>",
                        "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        let metadata: [String: GGUFValue] = [
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string("gpt2"),
            "tokenizer.ggml.tokens": .strings(byteCharacters + specials),
            "tokenizer.ggml.token_type": .array(.int32, Array(repeating: GGUFValue.int32(1), count: 256)
                + Array(repeating: GGUFValue.int32(3), count: specials.count)),
            "tokenizer.ggml.merges": .strings([]),
            "tokenizer.ggml.bos_token_id": .uint32(UInt32(beginOfText)),
            "tokenizer.ggml.eos_token_id": .uint32(UInt32(imEnd)),
            "tokenizer.ggml.add_bos_token": .bool(addsBOS),
        ]
        return try! Tokenizer(metadata: metadata)
    }

    /// A SentencePiece (`llama`) vocabulary with only `▁` and the 256 byte-fallback tokens
    /// besides its specials: every byte of text is one token, and each text fragment after
    /// a special token starts with the `▁` the tokenizer puts in front of it.
    static let sentencePieceByteTokenizer: Tokenizer = {
        let specials = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
        let bytes = (0..<256).map { String(format: "<0x%02X>", $0) }
        let metadata: [String: GGUFValue] = [
            "tokenizer.ggml.model": .string("llama"),
            "tokenizer.ggml.tokens": .strings(specials + ["\u{2581}"] + bytes),
            "tokenizer.ggml.token_type": .array(.int32, [GGUFValue.int32(2)] + Array(repeating: .int32(3), count: 4)
                + [.int32(1)] + Array(repeating: .int32(6), count: 256)),
            "tokenizer.ggml.unknown_token_id": .uint32(0),
            "tokenizer.ggml.bos_token_id": .uint32(1),
            "tokenizer.ggml.eos_token_id": .uint32(4),
            "tokenizer.ggml.add_bos_token": .bool(false),
        ]
        return try! Tokenizer(metadata: metadata)
    }()

    /// Writes `contents` to a fresh temporary file and returns its path.
    static func file(_ contents: String, name: String = "data.jsonl") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tern-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// One JSONL line for a conversation.
    static func chatLine(_ messages: [(String, String)]) throws -> String {
        let objects = messages.map { ["role": $0.0, "content": $0.1] }
        return String(decoding: try JSONSerialization.data(withJSONObject: ["messages": objects], options: [.sortedKeys]), as: UTF8.self)
    }

    static func completionLine(prompt: String, completion: String) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: ["prompt": prompt, "completion": completion], options: [.sortedKeys]), as: UTF8.self)
    }

    /// The tokens of `sequence` that count in the loss (the first token never does).
    static func scoredTokens(_ sequence: TrainingSequence) -> [Int32] {
        sequence.tokens.indices.dropFirst().filter { sequence.lossMask[$0] }.map { sequence.tokens[$0] }
    }

    struct MissingModel: Error, CustomStringConvertible {
        let path: String
        var description: String { "missing \(path): run scripts/setup.sh" }
    }

    /// SmolLM2-135M-Instruct from `$TERN_MODELS` or `~/.cache/tern/models`.
    static func smolLM2() throws -> GGUFFile {
        let dir = ProcessInfo.processInfo.environment["TERN_MODELS"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tern/models")
        let path = dir.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: path) else { throw MissingModel(path: path) }
        return try GGUFFile(path: path)
    }
}
