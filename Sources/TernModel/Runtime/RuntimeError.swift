/// Errors of the inference runtime: a model that loads but cannot run, or a request the
/// loaded model cannot serve.
public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    case unsupportedTensorType(tensor: String, type: String)
    case badScaleTensor(tensor: String, elements: Int)
    case tokenOutOfRange(token: Int32, vocabularySize: Int)
    case contextFull(position: Int, tokens: Int, capacity: Int)
    case emptyBatch
    case badBatch(String)
    case emptyPrompt
    case badBenchmark(String)

    public var description: String {
        switch self {
        case .unsupportedTensorType(let t, let type):
            return "tensor '\(t)' has type \(type), which the runtime cannot multiply with"
        case .badScaleTensor(let t, let n):
            return "scale tensor '\(t)' has \(n) values, expected exactly 1"
        case .tokenOutOfRange(let id, let n):
            return "token id \(id) is outside the vocabulary of \(n) tokens"
        case .contextFull(let p, let n, let capacity):
            return "\(n) tokens at position \(p) do not fit the context of \(capacity) tokens"
        case .emptyBatch:
            return "a forward pass needs at least one token"
        case .badBatch(let reason):
            return "inconsistent batch: \(reason)"
        case .emptyPrompt:
            return "the prompt encodes to no tokens"
        case .badBenchmark(let reason):
            return "invalid benchmark: \(reason)"
        }
    }
}
