import Foundation
import TernKernels
import TernMesh
import TernModel

/// What a finished `generate` job produced.
public struct GenerateJobResult: Sendable {
    public var text: String
    public var tokens: [Int32]
    /// Root of the hash chain over every generated token, in order: a re-run with the same
    /// model and options must reproduce it.
    public var stepChain: StepHashChain
}

/// Runs a `generate` job the way `tern run` does (same tokenizer, template, session and
/// sampler), so a greedy job's tokens equal a local `tern run --temp 0` of the same prompt.
public enum GenerateJob {
    /// Runs synchronously on the caller's thread: the daemon calls it on its compute
    /// executor. `onText` receives each decoded piece as it is generated.
    public static func run(
        modelPath: String, options: GenerateOptions, threads: Int? = nil, onText: (String) -> Void = { _ in }
    ) throws -> GenerateJobResult {
        let file = try GGUFFile(path: modelPath)
        let tokenizer = try Tokenizer(file: file)
        let model = try TransformerModel(file: file, adapter: nil, layoutCache: LayoutCache.forJobs)
        let text: String
        if options.chat {
            text = try ChatTemplate(file: file).render([ChatMessage(role: "user", content: options.prompt)],
                                                        addGenerationPrompt: true)
        } else {
            text = options.prompt
        }
        let promptTokens = tokenizer.encode(text)
        let contextLength = min(model.parameters.contextLength, 4096)
        guard promptTokens.count <= contextLength else {
            throw RuntimeError.contextFull(position: 0, tokens: promptTokens.count, capacity: contextLength)
        }
        let session = InferenceSession(model: model, contextLength: contextLength, pool: ThreadPool(threads: threads),
                                       precision: .int16Activations)
        var sampling = SamplingConfiguration()
        sampling.temperature = options.temperature
        sampling.seed = options.seed
        let result = try Generator(session: session, tokenizer: tokenizer)
            .generate(prompt: promptTokens, sampling: sampling, maxTokens: Int(options.maxTokens),
                      onText: onText)
        var chain = StepHashChain()
        for token in result.tokens {
            withUnsafeBytes(of: token.bigEndian) { chain.append(Array($0)) }
        }
        return GenerateJobResult(text: result.text, tokens: result.tokens, stepChain: chain)
    }
}
