import Foundation

/// Exact-match scoring of short answers: the reply counts when, after trimming white
/// space and one trailing period and ignoring case, it equals the expected answer.
public enum ExactMatch {
    public static func normalize(_ text: String) -> String {
        var s = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if s.hasSuffix(".") { s.removeLast() }
        return s.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    public static func matches(_ reply: String, answer: String) -> Bool {
        normalize(reply) == normalize(answer)
    }
}

/// Accuracy over a set of examples, overall and per task.
public struct EvaluationScore: Sendable, Equatable, Codable {
    public var examples = 0
    public var correct = 0
    public var accuracy: Double { examples > 0 ? Double(correct) / Double(examples) : 0 }

    public init() {}

    mutating func add(correct isCorrect: Bool) {
        examples += 1
        if isCorrect { correct += 1 }
    }

    private enum CodingKeys: String, CodingKey { case examples, correct, accuracy }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        examples = try c.decode(Int.self, forKey: .examples)
        correct = try c.decode(Int.self, forKey: .correct)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(examples, forKey: .examples)
        try c.encode(correct, forKey: .correct)
        try c.encode(accuracy, forKey: .accuracy)
    }
}

public struct EvaluationReport: Sendable, Equatable, Codable {
    public var overall = EvaluationScore()
    public var tasks: [String: EvaluationScore] = [:]
}

/// Answers each example's prompt with greedy decoding in the chat template and scores
/// the reply by exact match.
public struct InstructionEvaluator {
    public let generator: Generator
    public let template: ChatTemplate
    /// Most tokens per answer (answers are a word or a number).
    public let maxAnswerTokens: Int

    public init(session: InferenceSession, tokenizer: Tokenizer, template: ChatTemplate, maxAnswerTokens: Int = 24) {
        generator = Generator(session: session, tokenizer: tokenizer)
        self.template = template
        self.maxAnswerTokens = maxAnswerTokens
    }

    /// The model's greedy reply to the example's prompt.
    public func reply(to example: InstructionExample) throws -> String {
        let text = template.render(example.prompt, addGenerationPrompt: true)
        let tokens = generator.tokenizer.encode(text)
        let capacity = generator.session.capacity
        guard tokens.count < capacity else {
            throw RuntimeError.contextFull(position: 0, tokens: tokens.count, capacity: capacity)
        }
        return try generator.generate(prompt: tokens, sampling: .greedy, maxTokens: maxAnswerTokens).text
    }

    /// Scores every example; `onExample` sees each reply as it is judged.
    public func evaluate(_ examples: [InstructionExample],
                         onExample: (_ index: Int, _ reply: String, _ correct: Bool) -> Void = { _, _, _ in })
        throws -> EvaluationReport {
        var report = EvaluationReport()
        for (index, example) in examples.enumerated() {
            let reply = try reply(to: example)
            let correct = ExactMatch.matches(reply, answer: example.answer)
            report.overall.add(correct: correct)
            report.tasks[example.task ?? "all", default: EvaluationScore()].add(correct: correct)
            onExample(index, reply, correct)
        }
        return report
    }
}
