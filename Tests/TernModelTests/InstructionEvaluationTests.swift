import Foundation
import Testing
import TernKernels
import TernModel

@Suite("tern eval: the instruction dataset and exact-match scoring")
struct InstructionEvaluationTests {
    /// Tests/Fixtures/instructions, where the repository ships the default dataset.
    private static var shippedDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/instructions")
    }

    @Test func generationIsDeterministicAndSplitsShareNoQuestion() {
        let splits = InstructionDataset.generate()
        #expect(splits == InstructionDataset.generate())
        #expect(splits != InstructionDataset.generate(seed: 7))
        let question = { (e: InstructionExample) in e.prompt.map(\.content).joined() }
        let train = Set(splits.train.map(question)), validation = Set(splits.validation.map(question))
        let test = Set(splits.test.map(question))
        #expect(train.count == splits.train.count && test.count == splits.test.count)
        #expect(train.isDisjoint(with: test) && train.isDisjoint(with: validation) && validation.isDisjoint(with: test))
        #expect(splits.test.count >= 150 && splits.train.count >= 8 * splits.test.count - 40)
        #expect(Set(splits.test.compactMap(\.task)).count == 9)
        #expect(splits.train.allSatisfy { $0.messages.map(\.role) == ["user", "assistant"] && !$0.answer.isEmpty })
    }

    @Test func shippedFilesAreTheGeneratorsOutput() throws {
        let splits = InstructionDataset.generate()
        for (name, examples) in [("train", splits.train), ("validation", splits.validation), ("test", splits.test)] {
            let path = Self.shippedDirectory.appendingPathComponent("\(name).jsonl").path
            let shipped = try String(contentsOfFile: path, encoding: .utf8)
            #expect(shipped == (try InstructionFile.jsonl(examples)), "\(name).jsonl: regenerate with `tern data instructions --out Tests/Fixtures/instructions`")
            #expect(try InstructionFile.read(path: path) == examples)
        }
    }

    @Test func malformedLinesNameFileAndLine() {
        let good = #"{"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}]}"#
        #expect(throws: InstructionFile.Failure.self) { try InstructionFile.parse(good + "\n{oops\n", path: "d.jsonl") }
        do {
            _ = try InstructionFile.parse(good + "\n\n{oops", path: "d.jsonl")
            Issue.record("accepted a malformed line")
        } catch {
            #expect("\(error)".hasPrefix("d.jsonl:3:"))
        }
        let noAnswer = #"{"messages":[{"role":"user","content":"2+2?"}]}"#
        #expect(throws: InstructionFile.Failure(path: "d.jsonl", line: 1,
                                                reason: "needs at least one message before a final assistant message (the expected answer)")) {
            try InstructionFile.parse(noAnswer, path: "d.jsonl")
        }
        #expect(throws: InstructionFile.Failure(path: "d.jsonl", line: nil, reason: "no examples")) {
            try InstructionFile.parse("\n", path: "d.jsonl")
        }
    }

    @Test func exactMatchIgnoresCaseSpaceAndOneFinalPeriod() {
        #expect(ExactMatch.matches(" Paris.\n", answer: "Paris"))
        #expect(ExactMatch.matches("paris", answer: "Paris"))
        #expect(!ExactMatch.matches("The capital is Paris.", answer: "Paris"))
        #expect(!ExactMatch.matches("81..", answer: "81"))
    }

    @Test func smolLM2ScoresAHandfulOfExamples() throws {
        let file = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2))
        let session = InferenceSession(model: try TransformerModel(file: file), contextLength: 128, pool: ThreadPool())
        let evaluator = InstructionEvaluator(session: session, tokenizer: try Tokenizer(file: file),
                                             template: try ChatTemplate(file: file), maxAnswerTokens: 12)
        let examples = [
            InstructionExample(task: "capitals", messages: [
                ChatMessage(role: "user", content: "What is the capital of France? Answer with the city name only."),
                ChatMessage(role: "assistant", content: "Paris"),
            ]),
            InstructionExample(task: "impossible", messages: [
                ChatMessage(role: "user", content: "Say hello."),
                ChatMessage(role: "assistant", content: "zq-no-model-says-this"),
            ]),
        ]
        var replies: [String] = []
        let report = try evaluator.evaluate(examples) { _, reply, _ in replies.append(reply) }
        #expect(replies.count == 2)
        #expect(ExactMatch.normalize(replies[0]) == "paris")
        #expect(report.overall == { var s = EvaluationScore(); s.examples = 2; s.correct = 1; return s }())
        #expect(report.tasks["capitals"]?.correct == 1 && report.tasks["impossible"]?.correct == 0)
    }
}
