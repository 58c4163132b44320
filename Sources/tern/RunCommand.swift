import ArgumentParser
import Foundation
import TernKernels
import TernModel
import TernNode

/// `tern run MODEL -p TEXT`: generate a continuation (or, with --chat, a reply) on this
/// machine, streaming text to standard output and timings to standard error.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Generate text with a GGUF model (llama or bitnet architecture), here or on a node (--node).",
        discussion: """
            With --node, the prompt goes to a node's OpenAI API (/v1/completions, or \
            /v1/chat/completions with --chat) and the reply streams back; no model is loaded here.
            """
    )

    @Argument(help: "Path to a .gguf model (not with --node: name the served model with --model).")
    var model: String?

    @Option(name: [.short, .customLong("prompt")], help: "The prompt text.")
    var prompt: String

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "Most tokens to generate.")
    var tokens = 128

    @OptionGroup var sampling: SamplingOptions

    @OptionGroup var engine: EngineOptions

    @OptionGroup(title: "Node") var node: NodeClientOptions

    @Flag(help: "Wrap the prompt as a user message with the model's chat template.")
    var chat = false

    @Option(help: "Chat template for --chat when the model has none or it is not recognized: \(ChatTemplate.flagNames.joined(separator: "|")).")
    var chatTemplate: String?

    func validate() throws {
        guard tokens >= 0 else { throw ValidationError("-n must be 0 or more, got \(tokens)") }
        if node.enabled {
            if let model { throw ValidationError("with --node, name the served model with --model, not a path (\(model))") }
            if chatTemplate != nil { throw ValidationError("--chat-template does not apply with --node: the node renders its model's template") }
        } else if model == nil {
            throw ValidationError("a model path is needed (or --node to generate on a node)")
        }
    }

    func run() async throws {
        guard let model, !node.enabled else { return try await runOnNode() }
        let file = try GGUFFile(path: model)
        let tokenizer = try Tokenizer(file: file)
        let transformer = try engine.model(file: file)
        let template = try chatTemplate.map { try ChatTemplate(name: $0) } ?? (chat ? try ChatTemplate(file: file) : nil)
        let text = chat
            ? template!.render([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true)
            : prompt
        let promptTokens = tokenizer.encode(text)
        let contextLength = engine.contextLength(for: transformer)
        guard promptTokens.count <= contextLength else {
            throw RuntimeError.contextFull(position: 0, tokens: promptTokens.count, capacity: contextLength)
        }
        let session = engine.session(for: transformer)

        let out = FileHandle.standardOutput
        if !chat { out.write(Data(prompt.utf8)) }
        let result = try Generator(session: session, tokenizer: tokenizer)
            .generate(prompt: promptTokens, sampling: sampling.configuration, maxTokens: tokens) { out.write(Data($0.utf8)) }
        out.write(Data("\n".utf8))
        let report = String(format: "\n[%d prompt tokens in %.2f s (%.1f tok/s); %d generated, %.1f tok/s; stop: %@]\n",
                            result.promptTokenCount, result.promptSeconds,
                            Double(result.promptTokenCount) / max(result.promptSeconds, 1e-9),
                            result.tokens.count, result.decodeTokensPerSecond, result.finishReason.rawValue)
        FileHandle.standardError.write(Data(report.utf8))
    }

    /// `--node`: the same request through the node's OpenAI API, streamed to standard output
    /// as it is generated.
    private func runOnNode() async throws {
        let client = try node.client()
        let name = try await node.model(of: client)
        let parameters = node.parameters(sampling, maxTokens: tokens)
        let out = FileHandle.standardOutput
        let write: (String) async throws -> Void = { out.write(Data($0.utf8)) }
        let completion: NodeAPIClient.Completion
        if chat {
            completion = try await client.chat(model: name, messages: [.init(role: "user", content: prompt)],
                                               parameters: parameters, onText: write)
        } else {
            out.write(Data(prompt.utf8))
            completion = try await client.complete(model: name, prompt: prompt, parameters: parameters, onText: write)
        }
        out.write(Data("\n".utf8))
        FileHandle.standardError.write(Data("\n[\(name) on \(client.http.base)] \(completion.report)\n".utf8))
    }
}
