/// Why a training run cannot go on; each message names the bad value.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String)
    case adapterMismatch(String)
    case sequenceTooShort
    case sequenceTooLong(tokens: Int, capacity: Int)
    case noTrainingData(String)
    case checkpoint(String)
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case .invalidOption(let detail): "invalid training option: \(detail)"
        case .adapterMismatch(let detail): "adapter does not fit the model: \(detail)"
        case .sequenceTooShort: "a training sequence needs at least two tokens"
        case .sequenceTooLong(let tokens, let capacity): "training sequence of \(tokens) tokens exceeds the \(capacity) the graph was built for"
        case .noTrainingData(let detail): "no training data: \(detail)"
        case .checkpoint(let detail): "checkpoint: \(detail)"
        case .shapeMismatch(let detail): "shape mismatch: \(detail)"
        }
    }
}
