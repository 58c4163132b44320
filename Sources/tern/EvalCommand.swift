import ArgumentParser
import Foundation
import TernModel

/// `tern eval MODEL --data TEST.jsonl`: exact-match accuracy of greedy chat replies on an
/// instruction dataset (see `tern data instructions`).
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a model on an instruction dataset by exact match of its greedy replies.",
        discussion: """
            Each JSONL line is {"task": ..., "messages": [...]}; the last message is the \
            expected assistant answer. The reply to the messages before it (rendered with the \
            chat template) counts when it equals the answer, ignoring case, surrounding white \
            space and a final period.
            """
    )

    @Argument(help: "Path to a .gguf model.")
    var model: String

    @Option(help: "Instruction dataset (JSONL chat), e.g. Tests/Fixtures/instructions/test.jsonl.")
    var data: String

    @Option(help: "Score only the first N examples.")
    var limit: Int?

    @Option(help: "Most tokens per reply.")
    var maxTokens = 24

    @OptionGroup var engine: EngineOptions

    @Option(help: "Chat template when the model has none or it is not recognized: \(ChatTemplate.flagNames.joined(separator: "|")).")
    var chatTemplate: String?

    @Flag(help: "Print the scores as JSON.")
    var json = false

    @Flag(help: "Show every reply next to its expected answer.")
    var verbose = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
    }

    func run() async throws {
        var examples = try InstructionFile.read(path: data)
        if let limit { examples = Array(examples.prefix(limit)) }
        let file = try GGUFFile(path: model)
        let tokenizer = try Tokenizer(file: file)
        let transformer = try engine.model(file: file)
        let template = try chatTemplate.map { try ChatTemplate(name: $0) } ?? ChatTemplate(file: file)
        let evaluator = InstructionEvaluator(session: engine.session(for: transformer), tokenizer: tokenizer,
                                             template: template, maxAnswerTokens: maxTokens)
        let err = FileHandle.standardError
        var correctSoFar = 0
        let report = try evaluator.evaluate(examples) { index, reply, correct in
            if correct { correctSoFar += 1 }
            if verbose {
                let mark = correct ? "ok  " : "MISS"
                err.write(Data("\(mark) \(examples[index].answer.debugDescription) ← \(reply.debugDescription)\n".utf8))
            } else {
                err.write(Data("\r[\(index + 1)/\(examples.count)] \(correctSoFar) correct\u{1B}[K".utf8))
            }
        }
        if !verbose { err.write(Data("\n".utf8)) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            let percent = { (s: EvaluationScore) in String(format: "%5.1f%%", 100 * s.accuracy) }
            print("\(percent(report.overall))  \(report.overall.correct)/\(report.overall.examples)  all")
            for (task, score) in report.tasks.sorted(by: { $0.key < $1.key }) {
                print("\(percent(score))  \(score.correct)/\(score.examples)  \(task)")
            }
        }
    }
}
