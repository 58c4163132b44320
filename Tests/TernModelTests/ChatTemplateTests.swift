import Testing
import TernModel

@Suite struct ChatTemplateTests {
    @Test func smolLM2TemplateIsChatMLWithItsDefaultSystemPrompt() throws {
        let file = try GGUFFile(path: TestFixtures.modelPath(TestFixtures.smolLM2))
        let template = try ChatTemplate(file: file)
        #expect(template == .chatML(defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        let withSystem = template.render([
            ChatMessage(role: "system", content: "You are a helpful assistant."),
            ChatMessage(role: "user", content: "What is 12 times 7?"),
        ], addGenerationPrompt: true)
        // The reference prompt that llama.cpp tokenized (see Tests/Fixtures/reference).
        #expect(withSystem == "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 12 times 7?<|im_end|>\n<|im_start|>assistant\n")
        let without = template.render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: false)
        #expect(without == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    @Test func llama3() throws {
        let jinja = "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
        let template = try ChatTemplate(jinja: jinja)
        #expect(template == .llama3)
        let text = template.render([ChatMessage(role: "user", content: "  Hi there \n")], addGenerationPrompt: true)
        #expect(text == "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    }

    @Test func plainChatMLHasNoDefaultSystemTurn() throws {
        let template = try ChatTemplate(jinja: "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}")
        #expect(template == .chatML(defaultSystemPrompt: nil))
        #expect(try ChatTemplate(name: "chatml") == template)
        #expect(template.render([], addGenerationPrompt: true) == "<|im_start|>assistant\n")
    }

    @Test func escapedDefaultSystemPromptIsUnescaped() throws {
        let jinja = "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou\\'re kind.<|im_end|>\\n' }}{% endif %}"
        #expect(try ChatTemplate(jinja: jinja) == .chatML(defaultSystemPrompt: "You're kind."))
        let computed = "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\n' + default_system + '<|im_end|>\\n' }}{% endif %}"
        #expect(try ChatTemplate(jinja: computed) == .chatML(defaultSystemPrompt: nil))
    }

    @Test func unknownTemplatesNameTheFlag() {
        #expect(throws: ChatTemplate.Failure.self) { try ChatTemplate(jinja: "[INST] {{ m }} [/INST]") }
        #expect("\(ChatTemplate.Failure.unrecognized(excerpt: "[INST]"))".contains("--chat-template chatml|llama3"))
        #expect(throws: ChatTemplate.Failure.missing) { try ChatTemplate(jinja: nil) }
        #expect(throws: ChatTemplate.Failure.unknownName("mistral")) { try ChatTemplate(name: "mistral") }
        #expect((try? ChatTemplate(name: "LLAMA3")) == .llama3)
    }
}
