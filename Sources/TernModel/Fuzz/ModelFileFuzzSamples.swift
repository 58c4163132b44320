/// The valid model files that fuzzing starts from (`tern fuzz gguf` and the model-file fuzz
/// tests), built with `GGUFWriter`. Every fuzz sample of TernModel is made here: when the
/// writer or the metadata a model needs changes, this is the one file to update.
public enum ModelFileFuzzSamples {
    /// A small but complete chat model: llama metadata, a byte-level BPE tokenizer (GPT-2's
    /// 256 byte characters, five merges, two special tokens), a chat template, and two tensors
    /// (one block-quantized, one float). About 10 KB, so a fuzz iteration stays cheap.
    public static func tinyChatModel() throws -> [UInt8] {
        let tokens = gpt2ByteCharacters() + ["he", "ll", "hell", "hello", "Ġw", "<|im_start|>", "<|im_end|>"]
        var kinds = [Int32](repeating: 1, count: tokens.count)
        kinds[kinds.count - 1] = 3
        kinds[kinds.count - 2] = 3
        var writer = try GGUFWriter()
        try writer.set("general.architecture", .string("llama"))
        for (key, value) in [("embedding_length", 32), ("block_count", 1), ("feed_forward_length", 64),
                             ("attention.head_count", 4), ("context_length", 128)] {
            try writer.set("llama." + key, .uint32(UInt32(value)))
        }
        try writer.set("tokenizer.ggml.model", .string("gpt2"))
        try writer.set("tokenizer.ggml.pre", .string("llama-bpe"))
        try writer.set("tokenizer.ggml.tokens", .strings(tokens))
        try writer.set("tokenizer.ggml.token_type", .array(.int32, kinds.map { .int32($0) }))
        try writer.set("tokenizer.ggml.merges", .strings(["h e", "l l", "he ll", "hell o", "Ġ w"]))
        try writer.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(tokens.count - 1)))
        try writer.set("tokenizer.chat_template", .string("{{'<|im_start|>' + m['role'] + '\\n'}}"))
        try writer.addTensor(name: "token_embd.weight", type: .q8_0, dimensions: [32, tokens.count],
                             data: Array(repeating: 1, count: 34 * tokens.count))
        try writer.addTensor(name: "output_norm.weight", type: .f32, dimensions: [32], data: Array(repeating: 0, count: 128))
        return writer.serialized()
    }

    /// GPT-2's byte characters: printable bytes stand for themselves, the others shift to
    /// code points from 256 up, in byte order.
    private static func gpt2ByteCharacters() -> [String] {
        func printable(_ byte: Int) -> Bool {
            (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
        }
        var shifted = 0
        return (0..<256).map { byte in
            if printable(byte) { return String(Character(Unicode.Scalar(UInt8(byte)))) }
            defer { shifted += 1 }
            return String(Character(Unicode.Scalar(UInt32(256 + shifted))!))
        }
    }
}
