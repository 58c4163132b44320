/// Why a `train` job could not run; each message names the input at fault, since it goes
/// back to a requester on another machine.
public enum TrainJobError: Error, Equatable, CustomStringConvertible {
    case invalidOption(String)
    case missingFile(role: String, path: String)
    case badModel(path: String, reason: String)
    case badDataset(path: String, reason: String)
    case badAdapter(path: String, reason: String)
    /// The loss left the finite numbers at `step`: the adapter is garbage from there on.
    case nonFiniteLoss(step: Int)

    public var description: String {
        switch self {
        case let .invalidOption(detail): "invalid train job option: \(detail)"
        case let .missingFile(role, path): "the \(role) file \(path) does not exist"
        case let .badModel(path, reason): "cannot load the base model \(path): \(reason)"
        case let .badDataset(path, reason): "cannot use the dataset \(path): \(reason)"
        case let .badAdapter(path, reason): "cannot use the input adapter \(path): \(reason)"
        case let .nonFiniteLoss(step): "training diverged: the loss at step \(step) is not finite"
        }
    }
}
