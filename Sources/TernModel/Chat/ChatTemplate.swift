/// One chat turn.
public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// The chat formats Tern renders itself (no Jinja engine): recognized from marker
/// substrings of `tokenizer.chat_template`, or chosen with `--chat-template`.
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n`. `defaultSystemPrompt` is the system turn the
    /// model's template inserts when the conversation has none (SmolLM2 does this).
    case chatML(defaultSystemPrompt: String?)
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>`. The BOS token is not
    /// part of the text: the tokenizer adds it (`tokenizer.ggml.add_bos_token`).
    case llama3

    /// Names accepted by `--chat-template`.
    public static let flagNames = ["chatml", "llama3"]

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unrecognized(excerpt: String)
        case missing
        case unknownName(String)

        public var description: String {
            let choose = "choose one with --chat-template \(ChatTemplate.flagNames.joined(separator: "|"))"
            switch self {
            case .unrecognized(let excerpt):
                return "the model's chat template is not one Tern knows (it starts \(excerpt.debugDescription)); \(choose)"
            case .missing:
                return "the model has no chat template (tokenizer.chat_template); \(choose)"
            case .unknownName(let name):
                return "unknown chat template '\(name)'; \(choose)"
            }
        }
    }

    /// The template for a `--chat-template` name.
    public init(name: String) throws {
        switch name.lowercased() {
        case "chatml": self = .chatML(defaultSystemPrompt: nil)
        case "llama3", "llama-3": self = .llama3
        default: throw Failure.unknownName(name)
        }
    }

    /// Recognizes a Jinja chat template by the markers it writes.
    public init(jinja: String?) throws {
        guard let jinja, !jinja.isEmpty else { throw Failure.missing }
        if jinja.contains("<|start_header_id|>") && jinja.contains("<|eot_id|>") {
            self = .llama3
        } else if jinja.contains("<|im_start|>") {
            self = .chatML(defaultSystemPrompt: Self.defaultSystemPrompt(in: jinja))
        } else {
            throw Failure.unrecognized(excerpt: String(jinja.prefix(60)))
        }
    }

    /// The template of a model file (`tokenizer.chat_template`).
    public init(file: GGUFFile) throws {
        try self.init(jinja: file.metadata["tokenizer.chat_template"]?.stringValue)
    }

    public var name: String {
        switch self {
        case .chatML: "chatml"
        case .llama3: "llama3"
        }
    }

    /// The prompt text for `messages`; with `addGenerationPrompt` it ends with the opening
    /// of an assistant turn so that the model writes the reply.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = ""
        switch self {
        case .chatML(let defaultSystem):
            if let defaultSystem, messages.first?.role != "system" {
                out += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            for m in messages {
                // The official template applies Jinja's `trim` to each message.
                let content = m.content.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(String(content))<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        }
        return out
    }

    /// The literal system turn a ChatML template inserts when the first message is not a
    /// system message (`{% if ... messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n…<|im_end|>\n' }}`).
    private static func defaultSystemPrompt(in jinja: String) -> String? {
        guard jinja.contains("!= 'system'") || jinja.contains("!= \"system\"") else { return nil }
        // Templates write the newline either literally or as the escape `\n`.
        let text = jinja.replacing("\\n", with: "\n").replacing("\\'", with: "'")
        let opening = "<|im_start|>system\n"
        guard let start = text.firstRange(of: opening), let end = text[start.upperBound...].firstRange(of: "<|im_end|>") else {
            return nil
        }
        let prompt = String(text[start.upperBound..<end.lowerBound])
        // String concatenation or an expression means the template computes the prompt.
        let computed = ["{{", "' +", "+ '", "\" +", "+ \""].contains { prompt.contains($0) }
        return computed ? nil : prompt
    }
}
