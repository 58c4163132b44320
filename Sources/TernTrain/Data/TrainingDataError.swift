/// Why a training data set could not be built. Errors about one example name its place as
/// `FILE:LINE` so that a bad line can be found and fixed; nothing is skipped silently.
public enum TrainingDataError: Error, CustomStringConvertible, Equatable {
    case maskLength(tokens: Int, mask: Int)
    case unreadableFile(path: String, reason: String)
    case emptyFile(path: String)
    case malformedJSON(SourceLocation, reason: String)
    case missingKey(SourceLocation, key: String)
    case wrongType(SourceLocation, key: String, expected: String)
    case unknownRole(SourceLocation, role: String)
    case noScoredTokens(SourceLocation)
    case exampleTooLong(SourceLocation, tokens: Int, contextLength: Int)
    case chatTemplateRequired
    case templateNotIncremental(SourceLocation, reason: String)
    case missingEndOfSequenceToken
    case invalidContextLength(Int)
    case invalidValidationFraction(Double)
    case tooFewExamplesToSplit(path: String, examples: Int)

    /// A line of a data file (1-based), or the whole file when `line` is nil.
    public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
        public let path: String
        public let line: Int?

        public init(path: String, line: Int?) {
            self.path = path
            self.line = line
        }

        public var description: String { line.map { "\(path):\($0)" } ?? path }
    }

    public var description: String {
        switch self {
        case .maskLength(let tokens, let mask):
            "loss mask has \(mask) entries for \(tokens) tokens"
        case .unreadableFile(let path, let reason):
            "cannot read training data \(path): \(reason)"
        case .emptyFile(let path):
            "\(path): the training data file is empty"
        case .malformedJSON(let at, let reason):
            "\(at): malformed JSON (\(reason))"
        case .missingKey(let at, let key):
            "\(at): missing key '\(key)'"
        case .wrongType(let at, let key, let expected):
            "\(at): '\(key)' must be \(expected)"
        case .unknownRole(let at, let role):
            "\(at): unknown role '\(role)' (expected system, user or assistant)"
        case .noScoredTokens(let at):
            "\(at): the example has no token to learn from (a chat needs an assistant message)"
        case .exampleTooLong(let at, let tokens, let contextLength):
            "\(at): the example is \(tokens) tokens, longer than the context of \(contextLength); "
                + "raise --ctx or shorten the example"
        case .chatTemplateRequired:
            "the chat format needs a chat template (the model has none; choose one with --chat-template)"
        case .templateNotIncremental(let at, let reason):
            "\(at): cannot find the assistant turns in the rendered chat: \(reason)"
        case .missingEndOfSequenceToken:
            "the tokenizer has no end-of-sequence token (tokenizer.ggml.eos_token_id), needed to end examples"
        case .invalidContextLength(let n):
            "context length \(n) is too small: a training sequence needs at least 2 tokens"
        case .invalidValidationFraction(let f):
            "validation fraction \(f) must be in [0, 1)"
        case .tooFewExamplesToSplit(let path, let examples):
            "\(path): \(examples) example(s) cannot be split into training and validation; "
                + "add data or set the validation fraction to 0"
        }
    }
}
