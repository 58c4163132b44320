import Foundation
import Testing
import TernTrain

@Suite struct TrainingDataTests {
    let tokenizer = DatasetTestSupport.byteTokenizer
    let chatML = ChatTemplate.chatML(defaultSystemPrompt: nil)

    func load(_ contents: String, _ format: TrainingDataFormat, context: Int = 512, fraction: Double = 0, seed: UInt64 = 1,
              template: ChatTemplate? = .chatML(defaultSystemPrompt: nil)) throws -> TrainingDataSplit {
        try TrainingData.load(path: try DatasetTestSupport.file(contents), format: format, tokenizer: tokenizer,
                              chatTemplate: template, contextLength: context, validationFraction: fraction, seed: seed)
    }

    func loadError(_ contents: String, _ format: TrainingDataFormat, context: Int = 512) throws -> (TrainingDataError, String) {
        let path = try DatasetTestSupport.file(contents)
        do {
            _ = try TrainingData.load(path: path, format: format, tokenizer: tokenizer, chatTemplate: chatML,
                                      contextLength: context, validationFraction: 0, seed: 1)
        } catch let error as TrainingDataError {
            return (error, path)
        }
        Issue.record("expected an error")
        throw CancellationError()
    }

    // MARK: Masking

    @Test func chatLearnsExactlyTheAssistantRepliesAndTheirEndOfTurn() throws {
        let replies = ["Paris is the capital.", "It has about 2.1 million people. \u{e9}t\u{e9}"]
        let line = try DatasetTestSupport.chatLine([
            ("system", "Be brief."), ("user", "Capital of France?"), ("assistant", replies[0]),
            ("user", "Population?"), ("assistant", replies[1]),
        ])
        let split = try load(line + "\n", .chat)
        #expect(split.train.count == 1)
        let sequence = try #require(split.train.first)
        // Every byte is one token, so a reply is its UTF-8 length plus the <|im_end|> closing it.
        let expected = replies.reduce(0) { $0 + $1.utf8.count + 1 }
        #expect(sequence.scoredTokenCount == expected)
        let learned = DatasetTestSupport.scoredTokens(sequence)
        #expect(tokenizer.decode(learned) == replies.map { $0 + "<|im_end|>" }.joined())
        #expect(sequence.tokens.count == chatML.render([
            ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Capital of France?"),
            ChatMessage(role: "assistant", content: replies[0]), ChatMessage(role: "user", content: "Population?"),
            ChatMessage(role: "assistant", content: replies[1]),
        ], addGenerationPrompt: false).replacing(/<\|im_(start|end)\|>/, with: "#").utf8.count)
    }

    @Test func chatMaskingWithSmolLM2TokenizerAndTemplate() throws {
        let file = try DatasetTestSupport.smolLM2()
        let smol = try Tokenizer(file: file)
        let template = try ChatTemplate(file: file)
        let conversations: [[(String, String)]] = [
            [("user", "What is 2+2?"), ("assistant", "2+2 equals 4.")],
            [("system", "You answer in French."), ("user", "Hello!"), ("assistant", "Bonjour ! Comment allez-vous ?"),
             ("user", "Bien."), ("assistant", "Tr\u{e8}s bien, merci.")],
        ]
        let text = try conversations.map(DatasetTestSupport.chatLine).joined(separator: "\n")
        let split = try TrainingData.load(path: try DatasetTestSupport.file(text), format: .chat, tokenizer: smol,
                                          chatTemplate: template, contextLength: 2048, validationFraction: 0, seed: 1)
        // Counted independently: each reply encoded alone, plus its <|im_end|>.
        let replies = conversations.flatMap { $0.filter { $0.0 == "assistant" }.map(\.1) }
        let expected = replies.reduce(0) { $0 + smol.encode($1, addBOS: false).count + 1 }
        #expect(split.train.reduce(0) { $0 + $1.scoredTokenCount } == expected)
        let learned = split.train.flatMap(DatasetTestSupport.scoredTokens)
        #expect(smol.decode(learned) == replies.map { $0 + "<|im_end|>" }.joined())
        // The model's default system turn is rendered (and not learned) when a chat has none.
        #expect(smol.decode(split.train[0].tokens).hasPrefix("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"))
    }

    /// SentencePiece puts a `▁` before the text after each special token, a token that
    /// spells no byte of the rendered chat; masking must still land on the replies.
    @Test func chatMaskingWithASentencePieceVocabulary() throws {
        let spm = DatasetTestSupport.sentencePieceByteTokenizer
        let replies = ["Hello there", " two  spaces "]
        let line = try DatasetTestSupport.chatLine([("user", "Hi"), ("assistant", replies[0]), ("user", "More"), ("assistant", replies[1])])
        let split = try TrainingData.load(path: try DatasetTestSupport.file(line), format: .chat, tokenizer: spm,
                                          chatTemplate: chatML, contextLength: 512, validationFraction: 0, seed: 1)
        let sequence = try #require(split.train.first)
        #expect(sequence.scoredTokenCount == replies.reduce(0) { $0 + $1.utf8.count + 1 })
        #expect(spm.decode(DatasetTestSupport.scoredTokens(sequence)) == replies.map { $0 + "<|im_end|>" }.joined())
    }

    @Test func llama3ChatLearnsTheTrimmedRepliesAndEotWithAnUnlearnedBOS() throws {
        let withBOS = DatasetTestSupport.makeByteTokenizer(addsBOS: true)
        let line = try DatasetTestSupport.chatLine([("user", "Hi"), ("assistant", "  Hello there.\n"), ("user", "Bye"), ("assistant", "Bye!")])
        let split = try TrainingData.load(path: try DatasetTestSupport.file(line), format: .chat, tokenizer: withBOS,
                                          chatTemplate: .llama3, contextLength: 512, validationFraction: 0, seed: 1)
        let sequence = try #require(split.train.first)
        #expect(sequence.tokens.first == DatasetTestSupport.beginOfText && !sequence.lossMask[0])
        #expect(sequence.tokens.filter { $0 == DatasetTestSupport.beginOfText }.count == 1)
        // The template trims each message, so the reply learned is the trimmed text.
        #expect(sequence.scoredTokenCount == "Hello there.".utf8.count + 1 + "Bye!".utf8.count + 1)
        #expect(withBOS.decode(DatasetTestSupport.scoredTokens(sequence)) == "Hello there.<|eot_id|>Bye!<|eot_id|>")
    }

    @Test func completionLearnsTheCompletionAndEndOfSequence() throws {
        let text = try DatasetTestSupport.completionLine(prompt: "Q: 3*3?\nA:", completion: " 9")
        let sequence = try #require(try load(text, .completion).train.first)
        #expect(sequence.tokens.count == "Q: 3*3?\nA: 9".utf8.count + 1)
        #expect(sequence.tokens.last == DatasetTestSupport.imEnd)
        #expect(tokenizer.decode(DatasetTestSupport.scoredTokens(sequence)) == " 9<|im_end|>")
    }

    @Test func textPredictsEveryTokenAfterTheFirstExactlyOnce() throws {
        let body = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 9)
        let split = try load(body, .text, context: 32, fraction: 0)
        #expect(split.train.allSatisfy { $0.tokens.count <= 32 && $0.tokens.count >= 2 && $0.lossMask.allSatisfy { $0 } })
        #expect(split.train.reduce(0) { $0 + $1.scoredTokenCount } == body.utf8.count - 1)
        // Windows overlap by one token and spell the file back.
        var rebuilt = split.train[0].tokens
        for window in split.train.dropFirst() {
            #expect(window.tokens.first == rebuilt.last)
            rebuilt += window.tokens.dropFirst()
        }
        #expect(tokenizer.decode(rebuilt) == body)
    }

    // MARK: Packing

    @Test func packingKeepsEveryExampleWholeAndItsMask() throws {
        let pairs = (0..<40).map { i in (prompt: "Question \(i)?", completion: String(repeating: "a", count: i % 7) + " end \(i)") }
        let text = try pairs.map { try DatasetTestSupport.completionLine(prompt: $0.prompt, completion: $0.completion) }.joined(separator: "\n")
        let split = try load(text, .completion, context: 64)
        #expect(split.trainExampleCount == 40)
        #expect(split.train.count < 40, "short examples share sequences")
        #expect(split.train.allSatisfy { $0.tokens.count <= 64 })
        // Each example already ends with EOS, so no separator is added: the sequences are the
        // examples back to back, in file order.
        let all = split.train.flatMap(\.tokens)
        let expectedTokens = pairs.flatMap { tokenizer.encode($0.prompt + $0.completion, addBOS: false) + [DatasetTestSupport.imEnd] }
        #expect(all == expectedTokens)
        #expect(split.trainScoredTokenCount == pairs.reduce(0) { $0 + $1.completion.utf8.count + 1 })
        // A sequence starts with a prompt: never a learned token.
        #expect(split.train.allSatisfy { !$0.lossMask[0] })
    }

    @Test func packedChatsAreSeparatedByAnUnlearnedEndOfSequence() throws {
        let lines = try (0..<6).map { i in try DatasetTestSupport.chatLine([("user", "hi \(i)"), ("assistant", "hello \(i)")]) }
        let split = try load(lines.joined(separator: "\n"), .chat, context: 90)
        let single = chatML.render([ChatMessage(role: "user", content: "hi 0"), ChatMessage(role: "assistant", content: "hello 0")],
                                   addGenerationPrompt: false).replacing(/<\|im_(start|end)\|>/, with: "#").utf8.count
        // Two chats and a separator fit in 90 tokens, three do not.
        #expect(2 * single + 1 <= 90 && 3 * single + 2 > 90)
        #expect(split.train.count == 3)
        for sequence in split.train {
            #expect(sequence.tokens.count == 2 * single + 1)
            #expect(sequence.tokens[single] == DatasetTestSupport.imEnd)
            #expect(!sequence.lossMask[single])
            #expect(sequence.scoredTokenCount == 2 * ("hello 0".utf8.count + 1))
        }
    }

    @Test func anExampleLongerThanTheContextIsRejectedWithItsLine() throws {
        let text = try [
            DatasetTestSupport.completionLine(prompt: "short", completion: "ok"),
            DatasetTestSupport.completionLine(prompt: String(repeating: "long ", count: 20), completion: "no"),
        ].joined(separator: "\n")
        let (error, path) = try loadError(text, .completion, context: 40)
        #expect(error == .exampleTooLong(.init(path: path, line: 2), tokens: 100 + 2 + 1, contextLength: 40))
        #expect(error.description.hasPrefix("\(path):2: "))
    }

    // MARK: Errors name FILE:LINE

    @Test func malformedLinesAreReportedWithTheirLineNumber() throws {
        let good = try DatasetTestSupport.chatLine([("user", "a"), ("assistant", "b")])
        let cases: [(String, (TrainingDataError.SourceLocation) -> TrainingDataError)] = [
            ("{\"messages\": [", { .malformedJSON($0, reason: "") }),
            ("[1, 2]", { .malformedJSON($0, reason: "expected a JSON object") }),
            ("{\"conversation\": []}", { .missingKey($0, key: "messages") }),
            ("{\"messages\": [{\"role\": \"user\"}]}", { .missingKey($0, key: "content") }),
            ("{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", { .wrongType($0, key: "content", expected: "a string") }),
            (try DatasetTestSupport.chatLine([("user", "a"), ("wizard", "b")]), { .unknownRole($0, role: "wizard") }),
            (try DatasetTestSupport.chatLine([("system", "a"), ("user", "b")]), { .noScoredTokens($0) }),
            ("{\"messages\": []}", { .noScoredTokens($0) }),
        ]
        for (bad, expected) in cases {
            // Line 2 is blank (allowed), so the bad line is line 4.
            let (error, path) = try loadError([good, "", good, bad, good].joined(separator: "\n"), .chat)
            let location = TrainingDataError.SourceLocation(path: path, line: 4)
            if case .malformedJSON(let at, _) = error, case .malformedJSON = expected(location) {
                #expect(at == location)
            } else {
                #expect(error == expected(location))
            }
            #expect(error.description.hasPrefix("\(path):4: "), "\(error)")
        }
    }

    @Test func completionNeedsBothKeys() throws {
        let (error, path) = try loadError("{\"prompt\": \"x\"}\n", .completion)
        #expect(error == .missingKey(.init(path: path, line: 1), key: "completion"))
    }

    @Test func emptyAndUnreadableFilesAreErrors() throws {
        for contents in ["", "\n\n  \n"] {
            let (error, path) = try loadError(contents, .text)
            #expect(error == .emptyFile(path: path))
        }
        #expect(throws: TrainingDataError.self) {
            try TrainingData.load(path: "/nonexistent/data.jsonl", format: .chat, tokenizer: tokenizer, chatTemplate: chatML,
                                  contextLength: 64, validationFraction: 0, seed: 1)
        }
        #expect(throws: TrainingDataError.chatTemplateRequired) { try load("{}", .chat, template: nil) }
        #expect(throws: TrainingDataError.invalidContextLength(1)) { try load("abc", .text, context: 1) }
        #expect(throws: TrainingDataError.invalidValidationFraction(1)) { try load("abc", .text, fraction: 1) }
    }

    // MARK: Validation split

    func completionSet(_ count: Int) throws -> String {
        try (0..<count).map { try DatasetTestSupport.completionLine(prompt: "p", completion: "<\($0)>") }.joined(separator: "\n")
    }

    /// The example numbers found in `sequences` (each completion is `<N>`).
    func exampleNumbers(_ sequences: [TrainingSequence]) -> [Int] {
        sequences.flatMap { tokenizer.decode($0.tokens).matches(of: /<(\d+)>/).map { Int($0.1)! } }
    }

    @Test func validationSplitIsSeededDeterministicAndDisjoint() throws {
        let text = try completionSet(50)
        let a = try load(text, .completion, context: 64, fraction: 0.2, seed: 7)
        let b = try load(text, .completion, context: 64, fraction: 0.2, seed: 7)
        let c = try load(text, .completion, context: 64, fraction: 0.2, seed: 8)
        #expect(a == b)
        #expect(exampleNumbers(a.validation) != exampleNumbers(c.validation))
        #expect(a.validationExampleCount == 10 && a.trainExampleCount == 40)
        let train = exampleNumbers(a.train), validation = exampleNumbers(a.validation)
        #expect(validation.count == 10)
        #expect(Set(train).isDisjoint(with: validation))
        #expect(Set(train).union(validation) == Set(0..<50))
        // Both sides keep file order.
        #expect(train == train.sorted() && validation == validation.sorted())
    }

    @Test func aPositiveFractionHoldsOutAtLeastOneExampleButNeverAll() throws {
        let split = try load(try completionSet(3), .completion, fraction: 0.01)
        #expect(split.validationExampleCount == 1 && split.trainExampleCount == 2)
        let most = try load(try completionSet(3), .completion, fraction: 0.99)
        #expect(most.validationExampleCount == 2 && most.trainExampleCount == 1)
        let path = try DatasetTestSupport.file(try completionSet(1))
        #expect(throws: TrainingDataError.tooFewExamplesToSplit(path: path, examples: 1)) {
            try TrainingData.load(path: path, format: .completion, tokenizer: tokenizer, chatTemplate: nil,
                                  contextLength: 64, validationFraction: 0.1, seed: 1)
        }
    }
}
