import Testing
import TernModel

/// Seeded corruption of a small but complete model file (llama metadata, byte-level BPE
/// tokenizer, chat template, tensors): everything built on top of `GGUFFile` must reject
/// or accept it cleanly, never crash.
@Suite struct ModelFileFuzzTests {
    static func tinyModel() throws -> [UInt8] { try ModelFileFuzzSamples.tinyChatModel() }

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
