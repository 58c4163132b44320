import ArgumentParser
import Foundation
import TernModel

/// `tern chat MODEL`: an interactive conversation over standard input and output in the
/// model's chat template. The KV cache is kept between turns, so each turn prefills only
/// the new message.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a GGUF model on standard input and output.",
        discussion: """
            Type a message and press return; the reply streams back. /reset starts a new \
            conversation, /exit (or end of input) quits.
            """
    )

    @Argument(help: "Path to a .gguf model.")
    var model: String

    @Option(help: "A system message that opens the conversation.")
    var system: String?

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "Most tokens per reply.")
    var tokens = 512

    @OptionGroup var sampling: SamplingOptions

    @OptionGroup var engine: EngineOptions

    @Option(help: "Chat template when the model has none or it is not recognized: \(ChatTemplate.flagNames.joined(separator: "|")).")
    var chatTemplate: String?

    func validate() throws {
        guard tokens >= 1 else { throw ValidationError("-n must be at least 1, got \(tokens)") }
    }

    func run() async throws {
        let file = try GGUFFile(path: model)
        let tokenizer = try Tokenizer(file: file)
        let transformer = try engine.model(file: file)
        let template = try chatTemplate.map { try ChatTemplate(name: $0) } ?? ChatTemplate(file: file)
        let conversation = ChatConversation(session: engine.session(for: transformer), tokenizer: tokenizer, template: template,
                                            systemPrompt: system, sampling: sampling.configuration)
        let out = FileHandle.standardOutput, err = FileHandle.standardError
        err.write(Data("[\(template.name) chat, context \(conversation.session.capacity) tokens; /reset starts over, /exit quits]\n".utf8))
        while true {
            err.write(Data("> ".utf8))
            guard let line = readLine(strippingNewline: true) else { break }
            let message = line.trimmingCharacters(in: .whitespaces)
            if message.isEmpty { continue }
            if message == "/exit" { break }
            if message == "/reset" {
                conversation.reset()
                err.write(Data("[conversation reset]\n".utf8))
                continue
            }
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
}
