import Foundation
import Testing
import TernKernels
import TernModel

@Suite("tern chat: multi-turn conversation with the KV cache kept across turns")
struct ChatConversationTests {
    private func smolLM2() throws -> (TransformerModel, Tokenizer, ChatTemplate) {
        let file = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        return (try TransformerModel(file: file), try Tokenizer(file: file), try ChatTemplate(file: file))
    }

    @Test func twoTurnsAnswerInChatMLAndPrefillOnlyTheNewTurn() throws {
        let (model, tokenizer, template) = try smolLM2()
        let session = InferenceSession(model: model, contextLength: 512, pool: ThreadPool())
        let chat = ChatConversation(session: session, tokenizer: tokenizer, template: template, sampling: .greedy)

        var streamed = ""
        let first = try chat.send("What is the capital of France?", maxTokens: 48) { streamed += $0 }
        #expect(first.text == streamed)
        #expect(first.finishReason == .endOfGeneration)
        #expect(first.text.contains("Paris"))
        #expect(!first.text.contains("<|im_end|>"))

        let second = try chat.send("And of Germany?", maxTokens: 48)
        #expect(second.finishReason == .endOfGeneration)
        #expect(second.text.contains("Berlin"))
        #expect(chat.messages.map(\.role) == ["user", "assistant", "user", "assistant"])

        // The second turn ran only its own tokens: the end of the first reply, the user
        // turn and the assistant header — not the whole conversation again.
        let whole = tokenizer.encode(template.render(Array(chat.messages.prefix(3)), addGenerationPrompt: true))
        let newTurn = tokenizer.encode("<|im_end|>\n<|im_start|>user\nAnd of Germany?<|im_end|>\n<|im_start|>assistant\n")
        #expect(second.prefillTokenCount == newTurn.count)
        #expect(second.prefillTokenCount < whole.count / 2)
        // The cache holds both turns except the last sampled token.
        let firstPrompt = tokenizer.encode(template.render([chat.messages[0]], addGenerationPrompt: true))
        #expect(first.prefillTokenCount == firstPrompt.count)
        #expect(chat.contextUsed == firstPrompt.count + first.tokens.count + second.prefillTokenCount - 1 + second.tokens.count - 1)
    }

    @Test func resetStartsOverWithTheSystemPrompt() throws {
        let (model, tokenizer, template) = try smolLM2()
        let session = InferenceSession(model: model, contextLength: 256, pool: ThreadPool())
        let chat = ChatConversation(session: session, tokenizer: tokenizer, template: template,
                                    systemPrompt: "You answer in one word.", sampling: .greedy)
        _ = try chat.send("Name a colour.", maxTokens: 8)
        chat.reset()
        #expect(chat.messages == [ChatMessage(role: "system", content: "You answer in one word.")])
        #expect(chat.contextUsed == 0)
        let reply = try chat.send("Name a colour.", maxTokens: 8)
        let expected = tokenizer.encode(template.render([ChatMessage(role: "system", content: "You answer in one word."),
                                                         ChatMessage(role: "user", content: "Name a colour.")],
                                                        addGenerationPrompt: true))
        #expect(reply.prefillTokenCount == expected.count)
    }

    @Test func aMessageThatDoesNotFitIsAClearErrorAndLeavesTheConversationAlone() throws {
        let (model, tokenizer, template) = try smolLM2()
        let session = InferenceSession(model: model, contextLength: 40, pool: ThreadPool())
        let chat = ChatConversation(session: session, tokenizer: tokenizer, template: template, sampling: .greedy)
        let long = String(repeating: "many words ", count: 40)
        #expect(throws: ChatError.self) { _ = try chat.send(long, maxTokens: 4) }
        #expect(chat.messages.isEmpty)
        do {
            _ = try chat.send(long, maxTokens: 4)
        } catch let error as ChatError {
            #expect("\(error)".contains("/reset"))
        }
    }
}
