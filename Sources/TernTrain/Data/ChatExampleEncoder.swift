/// Turns one conversation into tokens with a loss mask that covers exactly the assistant
/// replies: each reply's content and the end-of-turn token that closes it, nothing of the
/// system/user turns, the role headers or the separators after the end-of-turn token.
///
/// The whole conversation is rendered and encoded in one go, so the tokens are the ones the
/// model reads at inference. The assistant parts are found in the rendered text by rendering
/// prefixes of the conversation: `render(messages[..<i], addGenerationPrompt: true)` ends
/// where reply i's content starts. A token that straddles that boundary (a header newline
/// merged with a leading newline of the content) is learned, since it carries reply bytes.
struct ChatExampleEncoder {
    static let roles: Set<String> = ["system", "user", "assistant"]

    let tokenizer: Tokenizer
    let template: ChatTemplate

    func encode(_ messages: [ChatMessage], at location: TrainingDataError.SourceLocation) throws -> TokenizedExample {
        for message in messages where !Self.roles.contains(message.role) {
            throw TrainingDataError.unknownRole(location, role: message.role)
        }
        let text = template.render(messages, addGenerationPrompt: false)
        let replies = try replyByteRanges(messages, rendered: text, at: location)
        guard !replies.isEmpty else { throw TrainingDataError.noScoredTokens(location) }

        let tokens = tokenizer.encode(text, addBOS: false)
        guard let spans = TokenByteSpans.spans(of: tokens, in: text, tokenizer: tokenizer) else {
            throw TrainingDataError.templateNotIncremental(location, reason: "the tokens do not spell the rendered text back")
        }
        var mask = [Bool](repeating: false, count: tokens.count)
        for reply in replies {
            // The reply ends with the last end-of-turn token inside its turn.
            guard let end = tokens.indices.last(where: {
                tokenizer.endOfGenerationIDs.contains(tokens[$0]) && reply.contains(spans[$0].lowerBound)
            }) else {
                throw TrainingDataError.templateNotIncremental(location, reason: "an assistant turn has no end-of-turn token")
            }
            for i in 0...end where spans[i].upperBound > reply.lowerBound { mask[i] = true }
        }
        if tokenizer.addsBOS, let bos = tokenizer.bosID {
            return TokenizedExample(tokens: [bos] + tokens, lossMask: [false] + mask, location: location)
        }
        return TokenizedExample(tokens: tokens, lossMask: mask, location: location)
    }

    /// For each assistant message: the bytes of the rendered text from the start of its
    /// content to the end of its turn (end-of-turn marker and separator included).
    private func replyByteRanges(
        _ messages: [ChatMessage], rendered: String, at location: TrainingDataError.SourceLocation
    ) throws -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for (i, message) in messages.enumerated() where message.role == "assistant" {
            let before = template.render(Array(messages[..<i]), addGenerationPrompt: true)
            let through = template.render(Array(messages[...i]), addGenerationPrompt: false)
            guard through.utf8.starts(with: before.utf8), rendered.utf8.starts(with: through.utf8) else {
                throw TrainingDataError.templateNotIncremental(
                    location, reason: "the \(template.name) template does not render message \(i + 1) after the ones before it")
            }
            ranges.append(before.utf8.count..<through.utf8.count)
        }
        return ranges
    }
}
