/// A scale check of `FineTuneScheduler` without hardware: the real scheduler, driven on a
/// deterministic virtual clock by a modelled shell and modelled workers (same seed, same
/// report).
///
/// Each worker has a training speed and a link bandwidth, both drawn log-uniformly from a
/// range (a mix of phones, laptops and servers). A shard takes the transfer of its inputs
/// (the round's adapter, plus the model and dataset the first time the worker trains) and
/// of its result, plus its steps at the worker's speed (with a little jitter). A worker runs
/// its shards one after another, like the compute executor. Workers crash at random and
/// restart later; membership reports a crash after a detection delay, and a crashed worker's
/// running shards never return. Dishonest workers return results that fail re-execution.
/// The shell re-executes checked results on `verifiers` nodes of a given speed, one at a
/// time each (today the dispatcher alone), ticks every second, and applies each round's
/// outer step in `aggregationSeconds`.
public enum FineTuneSimulation {
    public struct Configuration: Sendable {
        /// What the scheduler runs; `workersPerRound` may be below `workers`.
        public var plan: FineTunePlan
        /// Nodes that may take shards.
        public var workers: Int
        /// Training speed range, tokens/s; each worker's is drawn log-uniformly from it.
        public var tokensPerSecond: ClosedRange<Double> = 200...5_000
        /// Link bandwidth range, MB/s; each worker's is drawn log-uniformly from it.
        public var megabytesPerSecond: ClosedRange<Double> = 2...100
        /// The adapter a shard fetches and the result it returns.
        public var adapterMegabytes = 10.0
        /// The model and dataset a worker fetches before its first shard (kept after that,
        /// across restarts, like blobs in the store).
        public var baseMegabytes = 600.0
        /// Probability per worker per virtual second of crashing.
        public var churnPerSecond = 0.0
        /// How long a crashed worker stays down (at least `detectionSeconds`).
        public var downtimeSeconds = 120
        /// How long membership takes to report a crash (SWIM suspicion).
        public var detectionSeconds = 5
        /// The shell tells the scheduler when a crashed worker is back (`workerAvailable`).
        /// `FineTuneDispatcher` does not yet: off, a worker reported dead is gone for good.
        public var readmitsRestartedWorkers = true
        /// Share of the workers that lie.
        public var dishonestFraction = 0.0
        /// Honest results a dishonest worker returns before it starts lying: 0 is caught by
        /// the check every first result gets; 1 or more tests the sampled checks.
        public var honestResultsBeforeLying = 1
        /// Nodes re-executing checked results, each one result at a time.
        public var verifiers = 1
        /// Training speed of a verifier, tokens/s.
        public var verifierTokensPerSecond = 5_000.0
        /// Time the shell takes to aggregate a round and apply its outer step.
        public var aggregationSeconds = 5.0
        /// A shard's compute time varies by up to ± this fraction.
        public var jitter = 0.05
        public var seed: UInt64 = 1
        /// A run that has not finished by then is reported as failed.
        public var maxVirtualSeconds = 30 * 86_400

        /// A plan like the dispatcher's: batch 8 × 256 tokens, a 10-minute deadline floor
        /// (room for the first download), the plan's other defaults.
        public init(workers: Int = 100, rounds: Int = 20, innerSteps: Int = 20, verifyRate: Double = 0.1, seed: UInt64 = 1) {
            self.workers = workers
            self.seed = seed
            plan = FineTunePlan(rounds: rounds, innerSteps: innerSteps, workersPerRound: workers, examplesPerStep: 8,
                                tokensPerStep: 8 * 256, datasetExamples: 100_000, deadlineFloorMillis: 600_000,
                                verifyRate: verifyRate, seed: seed)
        }
    }

    /// Runs the scheduler to its end (finished, failed, or out of virtual time).
    public static func run(_ configuration: Configuration) -> FineTuneSimulationReport {
        var world = FineTuneWorld(configuration)
        return world.run()
    }
}
