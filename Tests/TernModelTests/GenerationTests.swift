import Testing
import TernKernels
import TernModel

@Suite("Generation on SmolLM2-135M")
struct GenerationTests {
    private static func generator() throws -> Generator {
        let file = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        let session = InferenceSession(model: try TransformerModel(file: file), contextLength: 64, pool: ThreadPool())
        return Generator(session: session, tokenizer: try Tokenizer(file: file))
    }

    @Test("greedy 'The capital of France is' continues with ' Paris', streamed in order")
    func capitalOfFrance() throws {
        let generator = try Self.generator()
        var streamed = ""
        let result = try generator.generate(prompt: generator.tokenizer.encode("The capital of France is"),
                                            sampling: .greedy, maxTokens: 4) { streamed += $0 }
        #expect(result.text.hasPrefix(" Paris"), "generated \(result.text.debugDescription)")
        #expect(streamed == result.text)
        #expect(result.tokens.count == 4)
        #expect(result.finishReason == .length)
        #expect(result.promptTokenCount == 5)
    }

    @Test("a stop string ends generation and is not shown")
    func stopString() throws {
        let generator = try Self.generator()
        let result = try generator.generate(prompt: generator.tokenizer.encode("The capital of France is"),
                                            sampling: .greedy, maxTokens: 8, stopStrings: ["Paris"])
        #expect(result.finishReason == .stopString)
        #expect(!result.text.contains("Paris"))
    }

    @Test("the same seed gives the same sampled text; the context limit ends generation")
    func seededSamplingAndContextLimit() throws {
        let generator = try Self.generator()
        var sampling = SamplingConfiguration()
        sampling.seed = 7
        let prompt = generator.tokenizer.encode("Once upon a time")
        let a = try generator.generate(prompt: prompt, sampling: sampling, maxTokens: 100)
        let b = try generator.generate(prompt: prompt, sampling: sampling, maxTokens: 100)
        #expect(a.tokens == b.tokens)
        // The last sampled token is never run, so a full context of 64 yields 64 − prompt + 1 tokens.
        let fullContext = 64 - prompt.count + 1
        #expect(a.tokens.count <= fullContext)
        if a.finishReason == .length { #expect(a.tokens.count == fullContext) }
    }

    @Test("an empty prompt is an error, not a crash")
    func emptyPrompt() throws {
        let generator = try Self.generator()
        #expect(throws: RuntimeError.emptyPrompt) {
            try generator.generate(prompt: [], sampling: .greedy, maxTokens: 4)
        }
    }
}
