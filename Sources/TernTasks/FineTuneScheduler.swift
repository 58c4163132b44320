import TernSupport

/// The dispatcher of a distributed fine-tune as a pure state machine (like `SWIMInstance`):
/// events in — results, failures, deaths, verdicts of re-executions, the clock — and
/// directives out — assign a shard, check a result, close a round. It never touches a socket,
/// a file or a clock; the daemon carries the directives out and stores the scheduler (it is
/// `Codable`) in the ledger after every change, so a restarted dispatcher resumes the round
/// it was in.
public struct FineTuneScheduler: Codable, Sendable, Equatable {
    public let plan: FineTunePlan
    /// The round in progress (== plan.rounds once finished).
    public private(set) var round = 0
    public private(set) var shards: [Shard] = []
    public private(set) var workers: [String: Worker] = [:]
    /// Next example of the dataset to hand out (wraps: epochs).
    public private(set) var cursor = 0
    /// The last round closed and waiting for the shell's outer step (`roundApplied`).
    public private(set) var awaitingOuterStep = false
    public private(set) var finished = false

    public struct Shard: Codable, Sendable, Equatable {
        public var index: Int
        /// First example (modulo the dataset size) and how many.
        public var firstExample: Int
        public var examples: Int
        public var steps: Int
        public var worker: String?
        public var deadlineMillis: UInt64
        public var attempts: Int
        public var state: State
        /// Tokens the accepted result trained on.
        public var tokens: Int

        public enum State: String, Codable, Sendable { case running, verifying, done, dropped }
    }

    public struct Worker: Codable, Sendable, Equatable {
        public var candidate: WorkerCandidate
        public var alive = true
        public var banned = false
        /// Results of this worker that passed a check; until one has, every result is checked.
        public var verifiedResults = 0
    }

    public enum Event: Sendable, Equatable {
        /// A worker's result for a shard arrived (its receipt checked by the shell).
        case resultArrived(round: Int, shard: Int, worker: String, tokens: Int)
        /// A worker refused or failed a shard.
        case shardFailed(round: Int, shard: Int, worker: String)
        /// Membership says the worker is dead (or it left).
        case workerDied(String)
        /// A node became available (it joined, or came back); used from the next assignment.
        case workerAvailable(WorkerCandidate)
        /// The re-execution of a result matched (`true`) or did not.
        case verified(round: Int, shard: Int, worker: String, matches: Bool)
        /// A worker was caught lying outside its own shards (as the verifier of another's).
        case misbehaved(String)
        /// The shell refused a result that contradicts itself (its adapter is not the one its
        /// signed step chain ends in): proof of a lie without a re-execution.
        case resultRefused(round: Int, shard: Int, worker: String)
        /// The shell applied the closed round's outer step.
        case roundApplied
        case tick
    }

    public enum Directive: Sendable, Equatable {
        /// Run `steps` inner steps of `factor` ("A", "B" or nil = both) on the examples, by
        /// the deadline.
        case assign(round: Int, shard: Int, worker: String, firstExample: Int, examples: Int, steps: Int,
                    factor: String?, deadlineMillis: UInt64)
        /// Re-execute this result (on another node or the dispatcher) and report `verified`.
        case verify(round: Int, shard: Int, worker: String)
        /// A result that no longer counts (late, from a replaced or banned worker): drop it.
        case discard(round: Int, shard: Int, worker: String, reason: String)
        /// The worker lied: reject its receipts, revoke its credits, lower its score.
        case ban(worker: String)
        /// Aggregate these results (token-weighted) and apply the outer step, then send
        /// `roundApplied`.
        case closeRound(round: Int, results: [RoundResult])
        case finished
        /// The task cannot go on (no worker left, quorum impossible).
        case failed(reason: String)
    }

    public struct RoundResult: Codable, Sendable, Equatable {
        public var shard: Int
        public var worker: String
        public var tokens: Int

        public init(shard: Int, worker: String, tokens: Int) {
            self.shard = shard
            self.worker = worker
            self.tokens = tokens
        }
    }

    public init(plan: FineTunePlan, workers: [WorkerCandidate]) {
        self.plan = plan
        for candidate in workers where candidate.tokensPerSecond > 0 {
            self.workers[candidate.id] = Worker(candidate: candidate)
        }
    }

    /// Plans the first round.
    public mutating func start(nowMillis: UInt64) -> [Directive] {
        guard shards.isEmpty, !finished else { return [] }
        return planRound(nowMillis: nowMillis)
    }

    public mutating func handle(_ event: Event, nowMillis: UInt64) -> [Directive] {
        guard !finished else { return [] }
        switch event {
        case let .resultArrived(round, index, worker, tokens):
            guard round == self.round, !awaitingOuterStep, shards.indices.contains(index),
                  shards[index].worker == worker, shards[index].state == .running else {
                return [.discard(round: round, shard: index, worker: worker, reason: "not the shard's current assignment")]
            }
            guard workers[worker]?.banned == false else {
                return [.discard(round: round, shard: index, worker: worker, reason: "worker is banned")]
            }
            shards[index].tokens = tokens
            if mustVerify(worker: worker, shard: index) {
                shards[index].state = .verifying
                return [.verify(round: round, shard: index, worker: worker)]
            }
            shards[index].state = .done
            return closeIfComplete(nowMillis: nowMillis)

        case let .verified(round, index, worker, matches):
            guard round == self.round, shards.indices.contains(index), shards[index].worker == worker,
                  shards[index].state == .verifying else { return [] }
            if matches {
                workers[worker]?.verifiedResults += 1
                shards[index].state = .done
                return closeIfComplete(nowMillis: nowMillis)
            }
            return ban(worker, nowMillis: nowMillis)

        case let .misbehaved(worker):
            guard workers[worker]?.banned == false else { return [] }
            return ban(worker, nowMillis: nowMillis)

        case let .resultRefused(round, index, worker):
            guard round == self.round, shards.indices.contains(index), shards[index].worker == worker,
                  shards[index].state == .running, workers[worker]?.banned == false else { return [] }
            return ban(worker, nowMillis: nowMillis)

        case let .shardFailed(round, index, worker):
            guard round == self.round, shards.indices.contains(index), shards[index].worker == worker,
                  shards[index].state == .running else { return [] }
            return reassign(index, nowMillis: nowMillis) + closeIfComplete(nowMillis: nowMillis)

        case let .workerDied(worker):
            workers[worker]?.alive = false
            var out: [Directive] = []
            for index in shards.indices where shards[index].worker == worker && shards[index].state == .running {
                out += reassign(index, nowMillis: nowMillis)
            }
            return out + closeIfComplete(nowMillis: nowMillis)

        case let .workerAvailable(candidate):
            guard candidate.tokensPerSecond > 0 else { return [] }
            if var known = workers[candidate.id] {
                guard !known.banned else { return [] }
                known.alive = true
                known.candidate = candidate
                workers[candidate.id] = known
            } else {
                workers[candidate.id] = Worker(candidate: candidate)
            }
            return []

        case .roundApplied:
            guard awaitingOuterStep else { return [] }
            awaitingOuterStep = false
            round += 1
            if round >= plan.rounds {
                finished = true
                return [.finished]
            }
            return planRound(nowMillis: nowMillis)

        case .tick:
            let late = shards.indices.filter { shards[$0].state == .running && nowMillis >= shards[$0].deadlineMillis }
            guard !late.isEmpty else { return [] }
            var out: [Directive] = []
            for index in late { out += reassign(index, nowMillis: nowMillis) }
            return out + closeIfComplete(nowMillis: nowMillis)
        }
    }

    /// After a dispatcher restart the round in progress has lost its in-flight jobs and the
    /// results not yet aggregated, so every shard of it runs again: the same examples, on
    /// its worker if that one is still available. (The shell then reports workers that
    /// membership no longer lists as `workerDied`.)
    public mutating func restartRound(nowMillis: UInt64) -> [Directive] {
        guard !finished else { return [.finished] }
        guard !shards.isEmpty else { return start(nowMillis: nowMillis) }
        awaitingOuterStep = false
        var out: [Directive] = []
        for index in shards.indices where shards[index].state != .dropped {
            shards[index].attempts = 0
            shards[index].tokens = 0
            if let id = shards[index].worker, let worker = workers[id], worker.alive, !worker.banned {
                out.append(assign(index, to: worker.candidate, nowMillis: nowMillis))
            } else {
                shards[index].state = .running
                out += reassign(index, nowMillis: nowMillis)
            }
        }
        return out + closeIfComplete(nowMillis: nowMillis)
    }

    /// The earliest deadline of a running shard: when the shell should send `tick` next.
    public var nextDeadlineMillis: UInt64? {
        shards.filter { $0.state == .running }.map(\.deadlineMillis).min()
    }

    // MARK: Rounds

    /// Splits the round's work over the fastest available workers, each worker's steps in
    /// proportion to its speed (so shards finish together), and assigns every shard. A worker
    /// whose share would be under half a step sits the round out: one whole step would make
    /// it the round's straggler.
    private mutating func planRound(nowMillis: UInt64) -> [Directive] {
        var chosen = Array(available().prefix(max(1, plan.workersPerRound)))
        guard !chosen.isEmpty else {
            finished = true
            return [.failed(reason: "no worker is available for round \(round)")]
        }
        let totalSteps = plan.innerSteps * chosen.count
        func share(_ worker: Worker) -> Double {
            Double(totalSteps) * worker.candidate.tokensPerSecond / chosen.reduce(0) { $0 + $1.candidate.tokensPerSecond }
        }
        while chosen.count > 1, let slowest = chosen.last, share(slowest) < 0.5 { chosen.removeLast() }
        shards = []
        var out: [Directive] = []
        for (index, worker) in chosen.enumerated() {
            let steps = max(1, Int(share(worker).rounded()))
            let examples = steps * plan.examplesPerStep
            let shard = Shard(index: index, firstExample: cursor, examples: examples, steps: steps, worker: nil,
                              deadlineMillis: 0, attempts: 0, state: .running, tokens: 0)
            cursor = plan.datasetExamples > 0 ? (cursor + examples) % plan.datasetExamples : 0
            shards.append(shard)
            out.append(assign(index, to: worker.candidate, nowMillis: nowMillis))
        }
        return out
    }

    /// Live, unbanned workers, fastest first (ties by id, so the order is deterministic).
    private func available() -> [Worker] {
        workers.values.filter { $0.alive && !$0.banned }
            .sorted { ($0.candidate.tokensPerSecond, $1.candidate.id) > ($1.candidate.tokensPerSecond, $0.candidate.id) }
    }

    private mutating func assign(_ index: Int, to candidate: WorkerCandidate, nowMillis: UInt64) -> Directive {
        let seconds = Double(shards[index].steps * plan.tokensPerStep) / candidate.tokensPerSecond
        let deadline = nowMillis &+ plan.deadlineFloorMillis &+ UInt64(min(seconds * plan.deadlineSlack * 1000, 1e12))
        shards[index].worker = candidate.id
        shards[index].deadlineMillis = deadline
        shards[index].attempts += 1
        shards[index].state = .running
        let shard = shards[index]
        return .assign(round: round, shard: index, worker: candidate.id, firstExample: shard.firstExample,
                       examples: shard.examples, steps: shard.steps, factor: plan.factors.trainedFactor(inRound: round),
                       deadlineMillis: deadline)
    }

    /// Gives a failed, late or orphaned shard to another worker — one not running a shard of
    /// this round if possible, else the fastest — or drops it after `maxAttempts`.
    private mutating func reassign(_ index: Int, nowMillis: UInt64) -> [Directive] {
        let previous = shards[index].worker
        guard shards[index].attempts < plan.maxAttempts else {
            shards[index].state = .dropped
            return []
        }
        let busy = Set(shards.filter { $0.state == .running || $0.state == .verifying }.compactMap(\.worker))
        let candidates = available().filter { $0.candidate.id != previous }
        guard let next = candidates.first(where: { !busy.contains($0.candidate.id) }) ?? candidates.first else {
            shards[index].state = .dropped
            return []
        }
        return [assign(index, to: next.candidate, nowMillis: nowMillis)]
    }

    private mutating func ban(_ worker: String, nowMillis: UInt64) -> [Directive] {
        workers[worker]?.banned = true
        var out: [Directive] = [.ban(worker: worker)]
        for index in shards.indices where shards[index].worker == worker && shards[index].state != .dropped {
            // Its finished results of this round no longer count either.
            out += reassign(index, nowMillis: nowMillis)
        }
        return out + closeIfComplete(nowMillis: nowMillis)
    }

    /// Closes the round once no shard is running or being checked, if enough are done.
    private mutating func closeIfComplete(nowMillis: UInt64) -> [Directive] {
        guard !awaitingOuterStep, !shards.isEmpty,
              shards.allSatisfy({ $0.state == .done || $0.state == .dropped }) else { return [] }
        let done = shards.filter { $0.state == .done }
        guard !done.isEmpty, Double(done.count) >= plan.quorum * Double(shards.count) else {
            // Too few results to trust the round: run it again with whoever is left.
            cursor = shards.first?.firstExample ?? cursor
            return planRound(nowMillis: nowMillis)
        }
        awaitingOuterStep = true
        return [.closeRound(round: round, results: done.map { RoundResult(shard: $0.index, worker: $0.worker!, tokens: $0.tokens) })]
    }

    /// A worker's first result is always checked; later ones with probability `verifyRate`,
    /// drawn from the plan's seed, the round and the shard (so a resumed dispatcher decides
    /// the same).
    private func mustVerify(worker: String, shard: Int) -> Bool {
        guard workers[worker]?.verifiedResults ?? 0 > 0 else { return true }
        guard plan.verifyRate > 0 else { return false }
        let draw = SplitMix64.mix(plan.seed ^ UInt64(round) &* 0x9E37_79B9 ^ UInt64(shard) &* 0x85EB_CA6B)
        return Double(draw >> 11) / Double(1 << 53) < plan.verifyRate
    }
}
