import ArgumentParser
import Foundation
import TernKernels
import TernModel

/// `tern run MODEL -p TEXT`: generate a continuation (or, with --chat, a reply) on this
/// machine, streaming text to standard output and timings to standard error.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Generate text with a GGUF model (llama or bitnet architecture)."
    )

    @Argument(help: "Path to a .gguf model.")
    var model: String

    @Option(name: [.short, .customLong("prompt")], help: "The prompt text.")
    var prompt: String

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "Most tokens to generate.")
    var tokens = 128

    @Option(help: "Sampling temperature; 0 picks the most likely token (greedy).")
    var temp: Float = SamplingConfiguration().temperature

    @Option(help: "Keep the K most likely tokens (0 disables).")
    var topK = SamplingConfiguration().topK

    @Option(help: "Keep the smallest set of tokens whose probability reaches P (1 disables).")
    var topP: Float = SamplingConfiguration().topP

    @Option(help: "Drop tokens less likely than M × the best token's probability (0 disables).")
    var minP: Float = SamplingConfiguration().minP

    @Option(help: "Penalty for recently seen tokens (1 disables).")
    var repeatPenalty: Float = SamplingConfiguration().repetitionPenalty

    @Option(help: "Random seed of the sampler.")
    var seed: UInt64 = 0

    @Option(help: "Kernel threads (default: one per CPU).")
    var threads: Int?

    @Option(help: "Context size in tokens (default: the model's, at most 4096).")
    var context: Int?

    @Flag(help: "Wrap the prompt as a user message with the model's chat template.")
    var chat = false

    @Option(help: "Chat template for --chat when the model has none or it is not recognized: \(ChatTemplate.flagNames.joined(separator: "|")).")
    var chatTemplate: String?

    @Flag(help: "Multiply in float32 instead of int8 activations (slower, closest to the float model).")
    var float32 = false

    @Option(help: "A GGUF LoRA adapter to apply (unmerged) on top of the model.")
    var lora: String?

    func validate() throws {
        guard tokens >= 0 else { throw ValidationError("-n must be 0 or more, got \(tokens)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let context, context < 1 { throw ValidationError("--context must be at least 1, got \(context)") }
    }

    func run() async throws {
        let file = try GGUFFile(path: model)
        let tokenizer = try Tokenizer(file: file)
        let transformer = try TransformerModel(file: file, adapter: try lora.map { try LoRAAdapterFile.read(path: $0) })
        let template = try chatTemplate.map { try ChatTemplate(name: $0) } ?? (chat ? try ChatTemplate(file: file) : nil)
        let text = chat
            ? template!.render([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true)
            : prompt
        let promptTokens = tokenizer.encode(text)
        let contextLength = context ?? min(transformer.parameters.contextLength, 4096)
        guard promptTokens.count <= contextLength else {
            throw RuntimeError.contextFull(position: 0, tokens: promptTokens.count, capacity: contextLength)
        }
        let session = InferenceSession(model: transformer, contextLength: contextLength, pool: ThreadPool(threads: threads),
                                       precision: float32 ? .float32 : .int8Activations)
        var sampling = SamplingConfiguration()
        sampling.temperature = temp
        sampling.topK = topK
        sampling.topP = topP
        sampling.minP = minP
        sampling.repetitionPenalty = repeatPenalty
        sampling.seed = seed

        let out = FileHandle.standardOutput
        if !chat { out.write(Data(prompt.utf8)) }
        let result = try Generator(session: session, tokenizer: tokenizer)
            .generate(prompt: promptTokens, sampling: sampling, maxTokens: tokens) { out.write(Data($0.utf8)) }
        out.write(Data("\n".utf8))
        let report = String(format: "\n[%d prompt tokens in %.2f s (%.1f tok/s); %d generated, %.1f tok/s; stop: %@]\n",
                            result.promptTokenCount, result.promptSeconds,
                            Double(result.promptTokenCount) / max(result.promptSeconds, 1e-9),
                            result.tokens.count, result.decodeTokensPerSecond, result.finishReason.rawValue)
        FileHandle.standardError.write(Data(report.utf8))
    }
}
