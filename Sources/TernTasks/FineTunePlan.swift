/// How a distributed fine-tune runs: the rounds, their inner steps, how many workers, and
/// the rules for deadlines, quorum and verification. Stored with the task in the ledger.
public struct FineTunePlan: Codable, Sendable, Equatable {
    /// Outer rounds.
    public var rounds: Int
    /// Inner optimizer steps per worker and round (H), at average speed; a worker's share
    /// scales with its measured speed so that the round's shards finish together.
    public var innerSteps: Int
    /// Workers per round (at most; fewer when fewer are available).
    public var workersPerRound: Int
    /// Examples one inner step consumes (the trainer's batch size).
    public var examplesPerStep: Int
    /// Tokens one inner step trains on (batch × sequence length), for deadlines.
    public var tokensPerStep: Int
    /// Examples in the dataset; shards wrap around it (epochs).
    public var datasetExamples: Int
    /// Which LoRA factor trains in which round.
    public var factors: FactorSchedule
    /// A deadline is the expected time × this, plus `deadlineFloorMillis`.
    public var deadlineSlack: Double
    /// Time every shard gets on top of its compute (fetching inputs, starting up).
    public var deadlineFloorMillis: UInt64
    /// A round closes once every shard is done or dropped, if at least this fraction is done.
    public var quorum: Double
    /// Attempts per shard (the first assignment and reassignments) before it is dropped.
    public var maxAttempts: Int
    /// Fraction of results re-executed to check them; a worker's first result is always
    /// checked.
    public var verifyRate: Double
    /// Seeds the choice of which results to check.
    public var seed: UInt64

    public init(rounds: Int, innerSteps: Int, workersPerRound: Int, examplesPerStep: Int, tokensPerStep: Int,
                datasetExamples: Int, factors: FactorSchedule = .alternating, deadlineSlack: Double = 3,
                deadlineFloorMillis: UInt64 = 30_000, quorum: Double = 0.5, maxAttempts: Int = 3, verifyRate: Double = 0.1,
                seed: UInt64 = 0) {
        self.rounds = rounds
        self.innerSteps = innerSteps
        self.workersPerRound = workersPerRound
        self.examplesPerStep = examplesPerStep
        self.tokensPerStep = tokensPerStep
        self.datasetExamples = datasetExamples
        self.factors = factors
        self.deadlineSlack = deadlineSlack
        self.deadlineFloorMillis = deadlineFloorMillis
        self.quorum = quorum
        self.maxAttempts = maxAttempts
        self.verifyRate = verifyRate
        self.seed = seed
    }
}

/// Which LoRA factor a round trains. Averaging A and B separately is not averaging B·A; with
/// one factor frozen, the mean of the workers' changes to the other is exactly the mean
/// change of ΔW = B·A (`ΔW = B·(mean ΔA)` or `(mean ΔB)·A` is linear in the trained factor).
public enum FactorSchedule: String, Codable, Sendable, CaseIterable {
    /// RoLoRA: B in even rounds (A frozen), A in odd ones. B first: a fresh adapter has
    /// B = 0, so A's gradient is zero until B has moved.
    case alternating
    /// FFA-LoRA: A stays frozen at its random start; only B trains.
    case bOnly
    /// Both factors train and are averaged separately: inexact (the mean of the Bᵢ times the
    /// mean of the Aᵢ is not the mean of the Bᵢ·Aᵢ), but each factor trains every round,
    /// and on the instruction set it trained best (docs/finetuning.md), so it is the default.
    case both

    /// The factor trained in `round`: "A", "B", or nil for both.
    public func trainedFactor(inRound round: Int) -> String? {
        switch self {
        case .alternating: round % 2 == 0 ? "B" : "A"
        case .bOnly: "B"
        case .both: nil
        }
    }
}

/// A node that may take shards, with its measured training speed.
public struct WorkerCandidate: Codable, Sendable, Equatable {
    /// The node id (hex).
    public var id: String
    /// Measured training throughput, tokens per second (> 0).
    public var tokensPerSecond: Double

    public init(id: String, tokensPerSecond: Double) {
        self.id = id
        self.tokensPerSecond = tokensPerSecond
    }
}
