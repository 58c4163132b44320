import Foundation

/// One line of an instruction dataset: a chat whose last message is the assistant's
/// expected answer, and the task it belongs to (for per-task scores).
/// JSONL form: `{"task": "...", "messages": [{"role": ..., "content": ...}, ...]}`.
public struct InstructionExample: Sendable, Equatable, Codable {
    public let task: String?
    public let messages: [ChatMessage]

    public init(task: String?, messages: [ChatMessage]) {
        self.task = task
        self.messages = messages
    }

    /// The conversation up to the answer, and the answer.
    public var prompt: [ChatMessage] { Array(messages.dropLast()) }
    public var answer: String { messages.last?.content ?? "" }
}

/// Reading instruction JSONL files; every error names the file and line.
public enum InstructionFile {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let path: String
        public let line: Int?
        public let reason: String
        public var description: String { line.map { "\(path):\($0): \(reason)" } ?? "\(path): \(reason)" }
    }

    public static func read(path: String) throws -> [InstructionExample] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(path: path, line: nil, reason: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Failure(path: path, line: nil, reason: "not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws -> [InstructionExample] {
        var examples: [InstructionExample] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy(\.isWhitespace) {
            let example: InstructionExample
            do {
                example = try JSONDecoder().decode(InstructionExample.self, from: Data(line.utf8))
            } catch {
                throw Failure(path: path, line: index + 1, reason: "not a {\"messages\": [{\"role\", \"content\"}, …]} object")
            }
            guard example.messages.count >= 2, example.messages.last?.role == "assistant" else {
                throw Failure(path: path, line: index + 1,
                              reason: "needs at least one message before a final assistant message (the expected answer)")
            }
            examples.append(example)
        }
        guard !examples.isEmpty else { throw Failure(path: path, line: nil, reason: "no examples") }
        return examples
    }

    /// One JSONL line per example (keys sorted, so files are byte-for-byte reproducible).
    public static func jsonl(_ examples: [InstructionExample]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try examples.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
    }
}
