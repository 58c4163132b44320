import Testing
import TernModel

/// Seeded corruption of a small but complete model file (llama metadata, byte-level BPE
/// tokenizer, chat template, tensors): everything built on top of `GGUFFile` must reject
/// or accept it cleanly, never crash.
@Suite struct ModelFileFuzzTests {
    static func tinyModel() throws -> [UInt8] {
        let byteCharacters = (0..<256).map { b -> String in
            // GPT-2's byte characters: printable bytes stand for themselves, others shift to 256+.
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            let shifted = [Int](0..<256).filter { !((0x21...0x7E).contains($0) || (0xA1...0xAC).contains($0) || (0xAE...0xFF).contains($0)) }
            return String(Character(Unicode.Scalar(UInt32(printable ? b : 256 + shifted.firstIndex(of: b)!))!))
        }
        let tokens = byteCharacters + ["he", "ll", "hell", "hello", "Ġw", "<|im_start|>", "<|im_end|>"]
        var kinds = [Int32](repeating: 1, count: tokens.count)
        kinds[kinds.count - 1] = 3
        kinds[kinds.count - 2] = 3
        var w = try GGUFWriter()
        try w.set("general.architecture", .string("llama"))
        for (k, v) in [("embedding_length", 32), ("block_count", 1), ("feed_forward_length", 64),
                       ("attention.head_count", 4), ("context_length", 128)] {
            try w.set("llama." + k, .uint32(UInt32(v)))
        }
        try w.set("tokenizer.ggml.model", .string("gpt2"))
        try w.set("tokenizer.ggml.pre", .string("llama-bpe"))
        try w.set("tokenizer.ggml.tokens", .strings(tokens))
        try w.set("tokenizer.ggml.token_type", .array(.int32, kinds.map { .int32($0) }))
        try w.set("tokenizer.ggml.merges", .strings(["h e", "l l", "he ll", "hell o", "Ġ w"]))
        try w.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(tokens.count - 1)))
        try w.set("tokenizer.chat_template", .string("{{'<|im_start|>' + m['role'] + '\\n'}}"))
        try w.addTensor(name: "token_embd.weight", type: .q8_0, dimensions: [32, tokens.count], data: Array(repeating: 1, count: 34 * tokens.count))
        try w.addTensor(name: "output_norm.weight", type: .f32, dimensions: [32], data: Array(repeating: 0, count: 128))
        return w.serialized()
    }

    @Test func theUncorruptedModelWorks() throws {
        let file = try GGUFFile(bytes: Self.tinyModel())
        let summary = ModelSummary(file: file)
        #expect(summary.hyperParameters?.vocabularySize == 263)
        #expect(summary.chatTemplate == "chatml")
        let tokenizer = try Tokenizer(file: file)
        let ids = tokenizer.encode("<|im_start|>hello world")
        #expect(ids.first == 261 && ids.dropFirst().first == 259)
        #expect(tokenizer.decode(ids) == "<|im_start|>hello world")
    }

    @Test func survivesRandomMutations() throws {
        let good = try Self.tinyModel()
        var random = RandomSource(seed: 0xF022)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(3))
        var opened = 0
        for _ in 0..<5_000 where clock.now < deadline {
            var bytes = good
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let at = Int(random.next() % UInt64(bytes.count))
                if random.next() % 8 == 0 {
                    bytes.removeSubrange(at...)
                    break
                }
                bytes[at] = UInt8(truncatingIfNeeded: random.next())
            }
            guard let file = try? GGUFFile(bytes: bytes) else { continue }
            opened += 1
            _ = ModelSummary(file: file)
            if let tokenizer = try? Tokenizer(file: file) {
                let ids = tokenizer.encode("<|im_start|>hello wörld 123")
                _ = tokenizer.decode(ids + [-1, Int32.max])
            }
        }
        #expect(opened > 50)
    }
}
