/// What a fine-tune simulation measured. Times are virtual seconds; "worker-seconds" add up
/// the time of every worker involved. Field names are the JSON keys of `tern sim finetune`.
public struct FineTuneSimulationReport: Codable, Sendable, Equatable {
    public var workers: Int
    public var workers_per_round: Int
    public var rounds_planned: Int
    public var churn: Double
    public var dishonest_fraction: Double
    public var verify_rate: Double
    public var seed: UInt64

    /// The scheduler said `finished`; otherwise `failure` says why it stopped.
    public var finished: Bool
    public var failure: String?
    public var rounds_completed: Int
    /// From the first assignment to the last outer step.
    public var virtual_seconds: Double
    /// Each completed round, from its planning to its outer step applied.
    public var round_seconds: [Double]
    public var mean_round_seconds: Double
    /// Results each completed round aggregated.
    public var round_results: [Int]

    /// Summed over rounds: the slowest counted shard's duration minus the fastest one's
    /// (assignment to result), i.e. how long a round waited on its stragglers.
    public var straggler_seconds: Double
    /// Summed over rounds: from the last counted result's arrival to the round's close,
    /// i.e. how long a round waited on re-executions.
    public var verification_wait_seconds: Double
    /// Work that never counted on honest workers: shards lost in a crash, late results of
    /// reassigned shards, rounds rerun for lack of quorum.
    public var failure_lost_worker_seconds: Double
    /// Work of banned workers that never counted.
    public var rejected_worker_seconds: Double
    /// Shards given to another worker after a failure, a death or a missed deadline.
    public var reassignments: Int
    /// Shards the closed rounds went without (out of attempts or of workers).
    public var shards_dropped: Int
    /// Rounds planned again because too few of their shards were done (quorum).
    public var rounds_rerun: Int
    public var crashes: Int

    /// Results re-executed, and those whose re-execution did not match.
    public var results_verified: Int
    public var results_rejected: Int
    public var workers_banned: Int
    public var dishonest_workers: Int
    public var dishonest_banned: Int
    /// Lies that no check caught and that went into a round.
    public var bad_results_accepted: Int

    /// Busy worker-seconds (training or transferring, useful or not) over the worker-seconds
    /// that workers were up and not banned.
    public var utilization: Double
    public var busy_worker_seconds: Double
    public var available_worker_seconds: Double
}
