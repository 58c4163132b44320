import Foundation
import Testing
import TernModel

/// The tokenizer must reproduce llama.cpp's token ids for the reference prompts in Tests/Fixtures/reference.
@Suite struct TokenizerParityTests {
    static let smol: Result<GGUFFile, Error> = Result { try GGUFFile(path: TestFixtures.modelPath(TestFixtures.smolLM2)) }

    @Test func everyReferencePromptMatchesLlamaCpp() throws {
        let tokenizer = try Tokenizer(file: Self.smol.get())
        let prompts = try TestFixtures.referencePrompts()
        #expect(prompts.count >= 6)
        for (file, prompt) in prompts {
            let ids = tokenizer.encode(prompt.text)
            #expect(ids == prompt.tokens, "\(file): \(prompt.text.debugDescription)")
            #expect(tokenizer.decode(ids) == prompt.text)
        }
    }

    @Test func smolLM2UsesSmollmSplittingAndSpecialTokens() throws {
        let tokenizer = try Tokenizer(file: Self.smol.get())
        #expect(tokenizer.model == .bytePairEncoding)
        #expect(tokenizer.preTokenizer == .smollm)
        #expect(tokenizer.addsBOS == false)
        #expect(tokenizer.encode("<|im_start|>") == [1])
        #expect(tokenizer.encode("<|im_start|>", parseSpecial: false).count > 1)
        #expect(tokenizer.endOfGenerationIDs.contains(2))
        #expect(tokenizer.encode("hi", addBOS: true).first == 1)
    }

    @Test func streamingDecodeHoldsBackSplitCharacters() throws {
        let tokenizer = try Tokenizer(file: Self.smol.get())
        let text = "emoji 🚀 and 東京"
        let ids = tokenizer.encode(text)
        var decoder = TokenStreamDecoder(tokenizer: tokenizer)
        var chunks: [String] = []
        for id in ids { chunks.append(decoder.append(id)) }
        chunks.append(decoder.finish())
        #expect(chunks.joined() == text)
        #expect(!chunks.contains { $0.contains("\u{FFFD}") })
    }

    @Test func randomTextRoundTrips() throws {
        let tokenizer = try Tokenizer(file: Self.smol.get())
        let alphabet = Array("ab Z09 \n\t'.,!é€東🚀<|>im_startend_\u{00A0}\u{0301}")
        var random = RandomSource(seed: 99)
        for _ in 0..<300 {
            let text = String((0..<Int(random.next() % 40)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            let ids = tokenizer.encode(text)
            #expect(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize })
            #expect(tokenizer.decode(ids) == text, "\(text.debugDescription)")
        }
    }

    /// SmolLM2's vocabulary has no token for some control bytes; like llama.cpp, they are dropped.
    @Test func bytesWithoutATokenAreDropped() throws {
        let tokenizer = try Tokenizer(file: Self.smol.get())
        #expect(tokenizer.decode(tokenizer.encode("a\u{4}b\u{4}\u{4}")) == "ab")
    }

    @Test func longInputsEncodeQuickly() throws {
        let tokenizer = try Tokenizer(file: Self.smol.get())
        let paragraph = "Ternary weights take only three values: -1, 0 and +1. Le café coûte 3,50 €. "
        let text = String(repeating: paragraph, count: 400) + String(repeating: " ", count: 20_000)
        let clock = ContinuousClock()
        var ids: [Int32] = []
        let elapsed = clock.measure { ids = tokenizer.encode(text) }
        #expect(tokenizer.decode(ids) == text)
        // ~52k characters; the scanner and heap merges keep this well under a second.
        #expect(elapsed < .seconds(5), "encoding took \(elapsed)")
    }
}
