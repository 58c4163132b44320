/// What one fuzz run found: how many inputs each outcome had, the first inputs that broke
/// an invariant, and how fast the decoder went.
public struct FuzzReport: Codable, Equatable, Sendable {
    /// An accepted input that broke an invariant, kept so it can be replayed.
    public struct Violation: Codable, Equatable, Sendable {
        public var iteration: Int
        public var reason: String
        public var inputHex: String

        enum CodingKeys: String, CodingKey {
            case iteration, reason, inputHex = "input_hex"
        }
    }

    /// Violations kept in full; later ones are only counted.
    public static let keptViolations = 8

    public var target: String
    public var seed: UInt64
    public var iterations: Int
    public var accepted = 0
    public var rejected = 0
    public var violations = 0
    /// Inputs per outcome, keyed `accepted.LABEL`, `rejected.LABEL` or `violation`.
    public var outcomes: [String: Int] = [:]
    public var firstViolations: [Violation] = []
    public var seconds = 0.0
    public var inputsPerSecond = 0.0

    /// snake_case in JSON, like every `tern … --json`, spelled out so outcome labels (keys
    /// of a dictionary) are never converted.
    enum CodingKeys: String, CodingKey {
        case target, seed, iterations, accepted, rejected, violations, outcomes, seconds
        case firstViolations = "first_violations", inputsPerSecond = "inputs_per_second"
    }

    public init(target: String, seed: UInt64, iterations: Int) {
        self.target = target
        self.seed = seed
        self.iterations = iterations
    }

    /// Records how long the run took.
    mutating func finish(seconds: Double) {
        self.seconds = seconds
        inputsPerSecond = seconds > 0 ? Double(iterations) / seconds : 0
    }

    mutating func record(_ verdict: FuzzVerdict, input: [UInt8], iteration: Int) {
        switch verdict {
        case let .accepted(label):
            accepted += 1
            outcomes["accepted." + label, default: 0] += 1
        case let .rejected(label):
            rejected += 1
            outcomes["rejected." + label, default: 0] += 1
        case let .violation(reason):
            violations += 1
            outcomes["violation", default: 0] += 1
            if firstViolations.count < Self.keptViolations {
                firstViolations.append(Violation(iteration: iteration, reason: reason, inputHex: Hex.encode(input)))
            }
        }
    }
}
