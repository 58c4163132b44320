import Foundation
import TernModel

// The request and response bodies of `/v1/chat/completions` and `/v1/completions`, in
// OpenAI's shapes (snake_case keys; fields a client may omit are optional).

/// A string, or an array of strings (`stop`, `prompt`).
public enum StringOrStrings: Decodable, Sendable, Equatable {
    case one(String)
    case many([String])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) {
            self = .one(one)
        } else {
            self = .many(try container.decode([String].self))
        }
    }

    public var strings: [String] {
        switch self {
        case .one(let text): [text]
        case .many(let texts): texts
        }
    }
}

/// `stream_options`.
public struct StreamOptions: Decodable, Sendable {
    public var includeUsage: Bool?
    enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
}

/// The parameters both endpoints share.
public struct SamplingParameters: Decodable, Sendable {
    public var model: String
    public var temperature: Double?
    public var topP: Double?
    public var maxTokens: Int?
    public var maxCompletionTokens: Int?
    public var stop: StringOrStrings?
    public var seed: Int64?
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    public var n: Int?

    enum CodingKeys: String, CodingKey {
        case model, temperature, stop, seed, stream, n
        case topP = "top_p"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case streamOptions = "stream_options"
    }
}

/// One message of a chat request. `content` is a string or an array of parts, of which the
/// text parts are joined.
public struct ChatRequestMessage: Decodable, Sendable {
    public var role: String
    public var content: String

    enum CodingKeys: String, CodingKey { case role, content }
    struct Part: Decodable {
        let type: String
        let text: String?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = try container.decode(String.self, forKey: .role)
        if try container.decodeNil(forKey: .content) {
            content = ""
        } else if let text = try? container.decode(String.self, forKey: .content) {
            content = text
        } else {
            let parts = try container.decode([Part].self, forKey: .content)
            content = parts.compactMap { $0.type == "text" ? $0.text : nil }.joined()
        }
    }
}

/// `POST /v1/chat/completions`.
public struct ChatCompletionRequest: Decodable, Sendable {
    public var parameters: SamplingParameters
    public var messages: [ChatRequestMessage]
    public var logprobs: Bool?
    public var topLogprobs: Int?

    enum CodingKeys: String, CodingKey {
        case messages, logprobs
        case topLogprobs = "top_logprobs"
    }

    public init(from decoder: any Decoder) throws {
        parameters = try SamplingParameters(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        messages = try container.decode([ChatRequestMessage].self, forKey: .messages)
        logprobs = try container.decodeIfPresent(Bool.self, forKey: .logprobs)
        topLogprobs = try container.decodeIfPresent(Int.self, forKey: .topLogprobs)
    }
}

/// `POST /v1/completions`.
public struct TextCompletionRequest: Decodable, Sendable {
    public var parameters: SamplingParameters
    public var prompt: StringOrStrings
    public var logprobs: Int?
    public var echo: Bool?
    public var suffix: String?

    enum CodingKeys: String, CodingKey { case prompt, logprobs, echo, suffix }

    public init(from decoder: any Decoder) throws {
        parameters = try SamplingParameters(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try container.decode(StringOrStrings.self, forKey: .prompt)
        logprobs = try container.decodeIfPresent(Int.self, forKey: .logprobs)
        echo = try container.decodeIfPresent(Bool.self, forKey: .echo)
        suffix = try container.decodeIfPresent(String.self, forKey: .suffix)
    }
}

/// `usage`.
public struct CompletionUsage: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int

    public init(prompt: Int, completion: Int) {
        promptTokens = prompt
        completionTokens = completion
        totalTokens = prompt + completion
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
    }
}

/// A response object or stream chunk of either endpoint. Keys OpenAI sends as `null` are
/// sent as `null` (clients look for them).
struct CompletionBody: Encodable {
    struct Choice: Encodable {
        var index = 0
        /// Chat, non-streaming.
        var message: [String: String]?
        /// Chat, streaming.
        var delta: [String: String]?
        /// Text completions.
        var text: String?
        var logprobs: ChoiceLogprobs?
        var finishReason: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(index, forKey: .index)
            try container.encodeIfPresent(message, forKey: .message)
            try container.encodeIfPresent(delta, forKey: .delta)
            try container.encodeIfPresent(text, forKey: .text)
            if let logprobs { try container.encode(logprobs, forKey: .logprobs) } else { try container.encodeNil(forKey: .logprobs) }
            try container.encode(finishReason, forKey: .finishReason)
        }

        enum CodingKeys: String, CodingKey {
            case index, message, delta, text, logprobs
            case finishReason = "finish_reason"
        }
    }

    var id: String
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: CompletionUsage?
    /// Streams put `usage: null` on every chunk but the last when usage was asked for.
    var usageKeyAlways = false

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(model, forKey: .model)
        try container.encode("tern", forKey: .systemFingerprint)
        try container.encode(choices, forKey: .choices)
        if usageKeyAlways { try container.encode(usage, forKey: .usage) } else { try container.encodeIfPresent(usage, forKey: .usage) }
    }

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage
        case systemFingerprint = "system_fingerprint"
    }
}

/// `choices[].logprobs`: chat's per-token list, or the legacy completions' parallel arrays.
enum ChoiceLogprobs: Encodable {
    case chat([ChatTokenLogprob])
    case text(TextLogprobs)

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .chat(let content):
            var container = encoder.container(keyedBy: ChatKeys.self)
            try container.encode(content, forKey: .content)
            try container.encodeNil(forKey: .refusal)
        case .text(let arrays):
            try arrays.encode(to: encoder)
        }
    }

    enum ChatKeys: String, CodingKey { case content, refusal }

    /// OpenAI's stand-in for −∞ (JSON has no infinity).
    static func finite(_ logprob: Float) -> Float { max(logprob, -9999) }
}

/// One token of a chat completion's `logprobs.content`.
struct ChatTokenLogprob: Encodable {
    struct Alternative: Encodable {
        var token: String
        var logprob: Float
        var bytes: [UInt8]
    }

    var token: String
    var logprob: Float
    var bytes: [UInt8]
    var topLogprobs: [Alternative]

    enum CodingKeys: String, CodingKey {
        case token, logprob, bytes
        case topLogprobs = "top_logprobs"
    }
}

/// A text completion's `logprobs`.
struct TextLogprobs: Encodable {
    var tokens: [String] = []
    var tokenLogprobs: [Float] = []
    var topLogprobs: [[String: Float]] = []
    /// Where each token's text starts in the completion, in code points.
    var textOffset: [Int] = []

    enum CodingKeys: String, CodingKey {
        case tokens
        case tokenLogprobs = "token_logprobs"
        case topLogprobs = "top_logprobs"
        case textOffset = "text_offset"
    }
}

/// Collects the log-probabilities of a completion's tokens until a response chunk takes
/// them: a token whose text is held back (part of a character, a possible stop string)
/// has its entry sent with the next chunk that carries text.
struct LogprobAccumulator {
    let chat: Bool
    private var content: [ChatTokenLogprob] = []
    private var arrays = TextLogprobs()
    private var pending = false

    init(chat: Bool) { self.chat = chat }

    /// `offset`: code points of completion text before this token's.
    mutating func add(_ logprobs: TokenLogprobs, offset: Int) {
        pending = true
        let sampled = logprobs.sampled
        if chat {
            content.append(ChatTokenLogprob(
                token: Self.text(sampled.bytes), logprob: ChoiceLogprobs.finite(sampled.logprob), bytes: sampled.bytes,
                topLogprobs: logprobs.top.map {
                    .init(token: Self.text($0.bytes), logprob: ChoiceLogprobs.finite($0.logprob), bytes: $0.bytes)
                }))
        } else {
            arrays.tokens.append(Self.text(sampled.bytes))
            arrays.tokenLogprobs.append(ChoiceLogprobs.finite(sampled.logprob))
            var top: [String: Float] = [:]
            for alternative in logprobs.top where top[Self.text(alternative.bytes)] == nil {
                top[Self.text(alternative.bytes)] = ChoiceLogprobs.finite(alternative.logprob)
            }
            arrays.topLogprobs.append(top)
            arrays.textOffset.append(offset)
        }
    }

    /// What was collected since the last call (nil when nothing was).
    mutating func take() -> ChoiceLogprobs? {
        guard pending else { return nil }
        defer {
            content.removeAll()
            arrays = TextLogprobs()
            pending = false
        }
        return chat ? .chat(content) : .text(arrays)
    }

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
