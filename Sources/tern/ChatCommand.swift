import ArgumentParser
import Foundation
import TernModel
import TernNode

/// `tern chat MODEL`: an interactive conversation over standard input and output in the
/// model's chat template. The KV cache is kept between turns, so each turn prefills only
/// the new message.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a GGUF model on standard input and output.",
        discussion: """
            Type a message and press return; the reply streams back. /reset starts a new \
            conversation, /exit (or end of input) quits. With --node the conversation runs on a \
            node's OpenAI API (/v1/chat/completions) and no model is loaded here.
            """
    )

    @Argument(help: "Path to a .gguf model (not with --node: name the served model with --model).")
    var model: String?

    @Option(help: "A system message that opens the conversation.")
    var system: String?

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "Most tokens per reply.")
    var tokens = 512

    @OptionGroup var sampling: SamplingOptions

    @OptionGroup var engine: EngineOptions

    @OptionGroup(title: "Node") var node: NodeClientOptions

    @Option(help: "Chat template when the model has none or it is not recognized: \(ChatTemplate.flagNames.joined(separator: "|")).")
    var chatTemplate: String?

    func validate() throws {
        guard tokens >= 1 else { throw ValidationError("-n must be at least 1, got \(tokens)") }
        if node.enabled {
            if let model { throw ValidationError("with --node, name the served model with --model, not a path (\(model))") }
            if chatTemplate != nil { throw ValidationError("--chat-template does not apply with --node: the node renders its model's template") }
        } else if model == nil {
            throw ValidationError("a model path is needed (or --node to chat with a node)")
        }
    }

    func run() async throws {
        guard let model, !node.enabled else { return try await chatOnNode() }
        let file = try GGUFFile(path: model)
        let tokenizer = try Tokenizer(file: file)
        let transformer = try engine.model(file: file)
        let template = try chatTemplate.map { try ChatTemplate(name: $0) } ?? ChatTemplate(file: file)
        let conversation = ChatConversation(session: engine.session(for: transformer), tokenizer: tokenizer, template: template,
                                            systemPrompt: system, sampling: sampling.configuration)
        let out = FileHandle.standardOutput, err = FileHandle.standardError
        err.write(Data("[\(template.name) chat, context \(conversation.session.capacity) tokens; /reset starts over, /exit quits]\n".utf8))
        try await Self.converse(reset: conversation.reset) { line in
            do {
                let reply = try conversation.send(line, maxTokens: tokens) { out.write(Data($0.utf8)) }
                out.write(Data("\n".utf8))
                let note = reply.contextFilled
                    ? "; the context is full, /reset to go on"
                    : (reply.finishReason == .length ? "; cut at -n \(tokens) tokens" : "")
                err.write(Data(String(format: "[%d new prompt tokens; %d generated, %.1f tok/s; context %d/%d%@]\n",
                                      reply.prefillTokenCount, reply.tokens.count,
                                      Double(max(reply.tokens.count - 1, 0)) / max(reply.decodeSeconds, 1e-9),
                                      conversation.contextUsed, conversation.session.capacity, note).utf8))
            } catch let error as ChatError {
                err.write(Data("[\(error)]\n".utf8))
            }
        }
    }

    /// The prompt loop both modes share: reads lines from standard input until it ends or
    /// `/exit`; `/reset` calls `reset`, blank lines are skipped, every other line is a turn.
    private static func converse(reset: () -> Void, turn: (String) async throws -> Void) async throws {
        let err = FileHandle.standardError
        while true {
            err.write(Data("> ".utf8))
            guard let line = readLine(strippingNewline: true) else { return }
            let message = line.trimmingCharacters(in: .whitespaces)
            if message.isEmpty { continue }
            if message == "/exit" { return }
            if message == "/reset" {
                reset()
                err.write(Data("[conversation reset]\n".utf8))
                continue
            }
            try await turn(line)
        }
    }

    /// `--node`: the conversation is kept here and sent whole with each turn to the node's
    /// `/v1/chat/completions`; each reply streams to standard output as it is generated.
    private func chatOnNode() async throws {
        let client = try node.client()
        let name = try await node.model(of: client)
        let parameters = node.parameters(sampling, maxTokens: tokens)
        let out = FileHandle.standardOutput, err = FileHandle.standardError
        let opening = system.map { [NodeAPIClient.Message(role: "system", content: $0)] } ?? []
        var messages = opening
        err.write(Data("[\(name) on \(client.http.base); /reset starts over, /exit quits]\n".utf8))
        try await Self.converse(reset: { messages = opening }) { line in
            messages.append(.init(role: "user", content: line))
            do {
                let reply = try await client.chat(model: name, messages: messages, parameters: parameters) { out.write(Data($0.utf8)) }
                out.write(Data("\n".utf8))
                messages.append(.init(role: "assistant", content: reply.text))
                let note = reply.finishReason == "length" ? "; cut at -n \(tokens) tokens" : ""
                err.write(Data("\(reply.report.dropLast())\(note)]\n".utf8))
            } catch let NodeClientError.api(status, text, code) where status == 400 || status == 429 {
                // The turn is refused (a context too long, a full queue): say why and let the user go on.
                messages.removeLast()
                err.write(Data("[\(code ?? String(status)): \(text)]\n".utf8))
            }
        }
    }
}
