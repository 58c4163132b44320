/// Why a chat turn could not run.
public enum ChatError: Error, Equatable, CustomStringConvertible {
    /// The new message does not fit what is left of the context.
    case contextFull(used: Int, needed: Int, capacity: Int)

    public var description: String {
        switch self {
        case .contextFull(let used, let needed, let capacity):
            return "the context is full: the conversation holds \(used) tokens, this message needs \(needed) more "
                + "and the context has room for \(capacity); start over with /reset (or a larger --context)"
        }
    }
}

/// One assistant reply and what it cost.
public struct ChatReply: Sendable {
    public let text: String
    public let tokens: [Int32]
    public let finishReason: FinishReason
    /// True when the reply stopped because the context filled up.
    public let contextFilled: Bool
    /// Tokens prefilled for this turn: only what is new since the previous reply.
    public let prefillTokenCount: Int
    public let prefillSeconds: Double
    public let decodeSeconds: Double
}

/// A multi-turn conversation over one `InferenceSession` whose KV cache is kept across
/// turns: each turn prefills only the text the chat template adds after the cached
/// conversation (the end of the previous reply, the new user turn, the assistant header).
/// When the rendered conversation no longer extends the cached text (a template that
/// rewrites earlier turns), the turn falls back to prefilling the whole conversation.
public final class ChatConversation {
    public let session: InferenceSession
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let systemPrompt: String?
    public private(set) var messages: [ChatMessage] = []

    private var sampler: Sampler
    /// The text whose tokens are in the cache, followed by `pending`.
    private var cachedText = ""
    /// Tokens in the cache, in order (the repetition penalty's history).
    private var cachedTokens: [Int32] = []
    /// The last sampled token of the previous reply: chosen but not yet run through the model.
    private var pending: [Int32] = []

    public init(session: InferenceSession, tokenizer: Tokenizer, template: ChatTemplate,
                systemPrompt: String? = nil, sampling: SamplingConfiguration) {
        self.session = session
        self.tokenizer = tokenizer
        self.template = template
        self.systemPrompt = systemPrompt
        sampler = Sampler(sampling)
        reset()
    }

    /// Starts a new conversation (the system prompt stays).
    public func reset() {
        session.reset()
        messages = systemPrompt.map { [ChatMessage(role: "system", content: $0)] } ?? []
        cachedText = ""
        cachedTokens = []
        pending = []
    }

    /// Tokens the conversation occupies in the context.
    public var contextUsed: Int { session.position }

    /// Sends a user message and streams the reply through `onText`. On `ChatError.contextFull`
    /// the conversation is unchanged.
    public func send(_ userText: String, maxTokens: Int, onText: (String) -> Void = { _ in }) throws -> ChatReply {
        let conversation = messages + [ChatMessage(role: "user", content: userText)]
        let rendered = template.render(conversation, addGenerationPrompt: true)
        var continues = !cachedTokens.isEmpty && session.position == cachedTokens.count
            && rendered.utf8.starts(with: cachedText.utf8)
        var newTokens: [Int32] = []
        if continues {
            let added = String(decoding: Array(rendered.utf8.dropFirst(cachedText.utf8.count)), as: UTF8.self)
            newTokens = pending + tokenizer.encode(added, addBOS: false)
            // One more slot for the first reply token.
            if session.position + newTokens.count + 1 > session.capacity { continues = false }
        }
        if !continues {
            newTokens = tokenizer.encode(rendered)
            guard newTokens.count + 1 <= session.capacity else {
                throw ChatError.contextFull(used: session.position, needed: newTokens.count, capacity: session.capacity)
            }
            session.reset()
            cachedText = ""
            cachedTokens = []
        }
        return try reply(prefilling: newTokens, rendered: rendered, conversation: conversation,
                         maxTokens: maxTokens, onText: onText)
    }

    private func reply(prefilling newTokens: [Int32], rendered: String, conversation: [ChatMessage],
                       maxTokens: Int, onText: (String) -> Void) throws -> ChatReply {
        let clock = ContinuousClock()
        let started = clock.now
        var logits = try session.forward(newTokens, logits: .last)
        cachedTokens += newTokens
        cachedText = rendered
        pending = []
        let prefillDone = clock.now

        var stop = StopConditions(endTokenIDs: tokenizer.endOfGenerationIDs, maxTokens: maxTokens)
        var decoder = TokenStreamDecoder(tokenizer: tokenizer)
        var generated: [Int32] = []
        var text = ""
        var finish = FinishReason.length
        var contextFilled = false
        while maxTokens > 0 {
            let token = try sampler.sample(logits: logits, history: cachedTokens)
            generated.append(token)
            let accepted = stop.accept(token: token, text: decoder.append(token))
            text += accepted.text
            onText(accepted.text)
            if let reason = accepted.finish {
                finish = reason
                break
            }
            if session.position >= session.capacity {
                contextFilled = true
                break
            }
            logits = try session.forward([token], logits: .last)
            cachedTokens.append(token)
        }
        let tail = decoder.finish()
        text += tail
        onText(tail)
        // The last sampled token has not been run; the next turn prefills it first.
        if let last = generated.last {
            pending = [last]
            cachedText += tokenizer.decode(generated)
        }
        messages = conversation + [ChatMessage(role: "assistant", content: text)]
        let seconds = { (d: Duration) in Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        return ChatReply(text: text, tokens: generated, finishReason: finish, contextFilled: contextFilled,
                         prefillTokenCount: newTokens.count, prefillSeconds: seconds(prefillDone - started),
                         decodeSeconds: seconds(clock.now - prefillDone))
    }
}
