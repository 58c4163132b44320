import Foundation
import Logging
import TernKernels
import TernMesh
import TernModel
import TernTasks
import TernTrain

/// What a distributed fine-tune is asked to do.
public struct FineTuneRequest: Codable, Sendable, Equatable {
    public var model: BlobID
    public var dataset: BlobID
    public var rounds: Int
    /// Inner steps per worker and round (H).
    public var innerSteps: Int
    public var workers: Int
    /// The trainer's settings for every shard (steps, factor and shard are set per shard).
    public var training: TrainJobOptions
    public var factors: FactorSchedule
    public var outerLearningRate: Float
    public var outerMomentum: Float
    public var verifyRate: Double

    public init(model: BlobID, dataset: BlobID, rounds: Int, innerSteps: Int, workers: Int, training: TrainJobOptions,
                factors: FactorSchedule = .both, outerLearningRate: Float = 0.7, outerMomentum: Float = 0.9,
                verifyRate: Double = 0.1) {
        self.model = model
        self.dataset = dataset
        self.rounds = rounds
        self.innerSteps = innerSteps
        self.workers = workers
        self.training = training
        self.factors = factors
        self.outerLearningRate = outerLearningRate
        self.outerMomentum = outerMomentum
        self.verifyRate = verifyRate
    }
}

/// One closed round, for progress lines and `--json`.
public struct FineTuneRoundReport: Codable, Sendable, Equatable {
    public var round: Int
    public var factor: String?
    public var workers: [String]
    public var tokens: Int
    /// Token-weighted mean of the workers' inner-step losses.
    public var meanLoss: Double
    public var seconds: Double
    public var adapter: BlobID
    /// Where the round's wall time went (nil in reports written before it was measured).
    public var timing: RoundTiming?
}

/// Where one round's wall time went, from the dispatcher's view, averaged over the shards
/// that counted: each shard's share of the round is the worker's computing (the time its
/// receipt reports for the work itself), moving bytes (the rest of the job as the dispatcher
/// saw it: inputs fetched, stream set up, result sent and fetched), its re-execution here if
/// it was checked, and waiting (for stragglers, for a reassigned attempt, before and after).
/// The outer step is the aggregation. The five add up to the round's wall time.
public struct RoundTiming: Codable, Sendable, Equatable {
    public var compute: Double
    public var transfer: Double
    public var verification: Double
    public var aggregation: Double
    public var waiting: Double

    public init(compute: Double, transfer: Double, verification: Double, aggregation: Double, waiting: Double) {
        self.compute = compute
        self.transfer = transfer
        self.verification = verification
        self.aggregation = aggregation
        self.waiting = waiting
    }

    /// The share of the round not spent computing.
    public var overheadFraction: Double {
        let wall = compute + transfer + verification + aggregation + waiting
        return wall > 0 ? (wall - compute) / wall : 0
    }
}

/// The outcome of re-running one worker's shard on the dispatcher.
public struct FineTuneCheck: Codable, Sendable, Equatable {
    public var round: Int
    public var shard: Int
    public var worker: String
    public var matched: Bool
    /// On a mismatch: the first step (1-based) whose result hash differs between the
    /// worker's report and the re-execution — where the two runs parted.
    public var firstDivergentStep: Int?
    public var seconds: Double
    /// The kernel class the shard was re-run in: the worker's own when this node can run it
    /// (then the adapters must match bit for bit), else this node's.
    public var kernelClass: String?
    /// Set when the classes differed: `UpdateComparison.relativeDifference` of the two updates,
    /// held to `UpdateComparison.defaultTolerance`.
    public var relativeDifference: Double?
    /// The peer that re-ran the shard (nil: the dispatcher itself).
    public var verifier: String?
}

/// A shard of the round in progress, as its worker reports steps.
public struct ShardProgress: Codable, Sendable, Equatable {
    public var shard: Int
    public var worker: String
    public var stepsDone: Int
    public var steps: Int
    public var loss: Double?
}

/// What a restarted dispatcher needs to resume: the scheduler as it stood, the global
/// adapter (a blob in the dispatcher's store) and the outer optimizer's momentum. Written at
/// the start, at every round boundary and at every ban.
public struct FineTuneCheckpoint: Codable, Sendable, Equatable {
    public var scheduler: FineTuneScheduler
    public var globalAdapter: BlobID
    public var optimizer: OuterOptimizer
    public var rounds: [FineTuneRoundReport]
    public var banned: [String]
    /// Re-executions so far (nil in checkpoints written before checks were recorded).
    public var checks: [FineTuneCheck]?
    /// Jobs of this task each worker was credited for, by worker: revoked if it is banned.
    public var creditedJobs: [String: [String]]?
}

/// What a finished fine-tune produced.
public struct FineTuneOutcome: Sendable {
    public var adapter: [UInt8]
    public var adapterBlob: BlobID
    public var rounds: [FineTuneRoundReport]
    public var bannedWorkers: [String]
    public var checks: [FineTuneCheck]
}

/// The shell around `FineTuneScheduler`: carries its directives out with the task plane
/// (train jobs on peers, re-executions here), aggregates each round's adapters, and feeds
/// the scheduler what happened. All decisions stay in the scheduler.
public actor FineTuneDispatcher {
    let plane: TaskPlane
    let request: FineTuneRequest
    let logger: Logger
    private var scheduler: FineTuneScheduler
    private var global: LoRAAdapter
    private var globalBlob: BlobID
    /// The global adapter's file, as last written (nil until a round closes).
    private var globalBytes: [UInt8]?
    private var optimizer: OuterOptimizer
    private let modelPath: String
    private let datasetPath: String
    /// Results of the round in progress, by shard, from the shard's current worker.
    private var results: [Int: ShardResult] = [:]
    private var reports: [FineTuneRoundReport] = []
    private var banned: [String] = []
    private var checks: [FineTuneCheck] = []
    /// Job ids of this task's accepted results, by worker (revoked when it is banned).
    private var creditedJobs: [String: [String]] = [:]
    /// How long each checked shard's re-execution took, this round.
    private var verificationSeconds: [Int: Double] = [:]
    private var progress: [Int: ShardProgress] = [:]
    /// Peers re-running a shard for a check right now.
    private var verifying: Set<String> = []
    private var onProgress: @Sendable ([ShardProgress]) -> Void = { _ in }
    private var roundStarted = ContinuousClock.now
    /// Resuming from a checkpoint: the round in progress runs again instead of starting.
    private var resuming = false
    private let events: AsyncStream<FineTuneScheduler.Event>
    private let post: AsyncStream<FineTuneScheduler.Event>.Continuation

    struct ShardResult {
        var worker: String
        var adapter: LoRAAdapter
        var bytes: [UInt8]
        var tokens: Int
        var losses: [Double]
        var stepResults: [[UInt8]]
        var options: TrainJobOptions
        /// The worker's own time for the work, and the whole job as seen from here.
        var computeSeconds: Double
        var jobSeconds: Double
    }

    /// Prepares a fine-tune of `request.model` on `request.dataset` (both complete blobs in
    /// the plane's store) over `workers` (each with its relative speed: shards and deadlines
    /// scale with it), starting from a fresh adapter.
    public init(plane: TaskPlane, request: FineTuneRequest, workers: [(NodeID, Double)], logger: Logger) throws {
        self.plane = plane
        self.request = request
        self.logger = logger
        try request.training.validate()
        modelPath = try plane.store.path(of: request.model)
        datasetPath = try plane.store.path(of: request.dataset)
        let file = try GGUFFile(path: modelPath)
        var random = RandomSource(seed: request.training.seed)
        global = try LoRAParameters.initial(
            model: try TransformerModel(file: file), targets: request.training.modules.compactMap(LoRATarget.init(rawValue:)),
            rank: request.training.rank, alpha: Float(request.training.alpha), random: &random).adapter
        globalBlob = try plane.store.add(bytes: try LoRAAdapterFile.serialized(global, baseModel: file), kind: .adapter,
                                         name: "fine-tune start").id
        optimizer = OuterOptimizer(learningRate: request.outerLearningRate, momentum: request.outerMomentum,
                                   parameterCount: RoundAggregation.vector(global).count)
        let sequences = try TrainJob.trainingSequenceCount(modelPath: modelPath, datasetPath: datasetPath, options: request.training)
        let plan = FineTunePlan(
            rounds: request.rounds, innerSteps: request.innerSteps, workersPerRound: request.workers,
            examplesPerStep: request.training.batchSize, tokensPerStep: request.training.batchSize * request.training.sequenceLength,
            datasetExamples: sequences, factors: request.factors, deadlineFloorMillis: 600_000, verifyRate: request.verifyRate,
            seed: request.training.seed)
        scheduler = FineTuneScheduler(plan: plan, workers: workers.map { WorkerCandidate(id: $0.0.hex, tokensPerSecond: $0.1) })
        (events, post) = AsyncStream.makeStream()
    }

    /// A dispatcher that picks up `checkpoint` (after a restart): the round it was in runs again.
    public init(plane: TaskPlane, request: FineTuneRequest, resuming checkpoint: FineTuneCheckpoint, logger: Logger) throws {
        self.plane = plane
        self.request = request
        self.logger = logger
        modelPath = try plane.store.path(of: request.model)
        datasetPath = try plane.store.path(of: request.dataset)
        global = try LoRAAdapterFile.read(path: try plane.store.path(of: checkpoint.globalAdapter))
        globalBlob = checkpoint.globalAdapter
        optimizer = checkpoint.optimizer
        scheduler = checkpoint.scheduler
        reports = checkpoint.rounds
        banned = checkpoint.banned
        checks = checkpoint.checks ?? []
        creditedJobs = checkpoint.creditedJobs ?? [:]
        resuming = true
        (events, post) = AsyncStream.makeStream()
    }

    /// The state to write down now.
    private var checkpoint: FineTuneCheckpoint {
        FineTuneCheckpoint(scheduler: scheduler, globalAdapter: globalBlob, optimizer: optimizer, rounds: reports, banned: banned,
                           checks: checks, creditedJobs: creditedJobs)
    }

    /// Runs every round and returns the final adapter. `onCheckpoint` receives the state to
    /// persist at the start, after every round, at every check and at every ban;
    /// `onProgress` the round's shards whenever one moves.
    public func run(onRound: @escaping @Sendable (FineTuneRoundReport) -> Void = { _ in },
                    onCheckpoint: @escaping @Sendable (FineTuneCheckpoint) -> Void = { _ in },
                    onProgress: @escaping @Sendable ([ShardProgress]) -> Void = { _ in }) async throws -> FineTuneOutcome {
        self.onProgress = onProgress
        roundStarted = .now
        var pending = resuming ? scheduler.restartRound(nowMillis: Self.now()) : scheduler.start(nowMillis: Self.now())
        onCheckpoint(checkpoint)
        var iterator = events.makeAsyncIterator()
        let ticker = Task { [post] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                post.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        while true {
            while !pending.isEmpty {
                switch pending.removeFirst() {
                case let .assign(round, shard, worker, first, examples, steps, factor, _):
                    assign(round: round, shard: shard, worker: worker, first: first, examples: examples, steps: steps, factor: factor)
                case let .verify(round, shard, worker):
                    verify(round: round, shard: shard, worker: worker)
                case let .discard(_, shard, worker, _):
                    if results[shard]?.worker == worker { results[shard] = nil }
                case let .ban(worker):
                    banned.append(worker)
                    if let id = Hex.decode(worker).flatMap(NodeID.init(bytes:)) {
                        plane.counters.count("finetune.banned")
                        await plane.dialer.misbehaved(id)
                        // Every credit it earned in this task goes: its honest-looking results
                        // are worth nothing once it is known to lie.
                        let revoked = (try? plane.ledger.revokeReceipts(jobIDs: creditedJobs[worker] ?? [], of: worker,
                                                                        reason: "banned from fine-tune: a result failed its check")) ?? 0
                        creditedJobs[worker] = nil
                        try? plane.ledger.recordJobOutcome(nodeID: worker, accepted: false, tokens: 0, wallMillis: 0)
                        logger.notice("fine-tune worker banned", metadata: ["worker": "\(id.fingerprint)", "revoked": "\(revoked)"])
                    }
                    onCheckpoint(checkpoint)
                case let .closeRound(round, closed):
                    try await closeRound(round, closed, onRound: onRound)
                    pending += scheduler.handle(.roundApplied, nowMillis: Self.now())
                    roundStarted = .now
                    onCheckpoint(checkpoint)
                case .finished:
                    // The last round wrote the adapter's file, unless this dispatcher resumed
                    // after it (a restart between the last checkpoint and the output).
                    let bytes: [UInt8]
                    if let globalBytes {
                        bytes = globalBytes
                    } else {
                        let (adapter, modelPath) = (global, modelPath)
                        bytes = try await plane.compute.run { try LoRAAdapterFile.serialized(adapter, baseModel: try GGUFFile(path: modelPath)) }
                    }
                    return FineTuneOutcome(adapter: bytes, adapterBlob: globalBlob, rounds: reports, bannedWorkers: banned,
                                           checks: checks)
                case let .failed(reason):
                    throw TaskFailure(.internalError, "fine-tune stopped: \(reason)")
                }
            }
            guard let event = await iterator.next() else { throw CancellationError() }
            if case .tick = event { await noticeDeaths() }
            if case .verified = event { onCheckpoint(checkpoint) }
            pending += scheduler.handle(event, nowMillis: Self.now())
        }
    }

    // MARK: Directives

    private func assign(round: Int, shard: Int, worker: String, first: Int, examples: Int, steps: Int, factor: String?) {
        guard let id = Hex.decode(worker).flatMap(NodeID.init(bytes:)) else {
            post.yield(.shardFailed(round: round, shard: shard, worker: worker))
            return
        }
        var options = request.training
        options.steps = steps
        options.trainFactor = factor
        options.shardStart = first
        options.shardLength = examples
        let (plane, model, dataset, adapter, post) = (plane, request.model, request.dataset, globalBlob, post)
        let started = ContinuousClock.now
        showProgress(ShardProgress(shard: shard, worker: worker, stepsDone: 0, steps: steps, loss: nil))
        Task {
            do {
                let outcome = try await plane.runTrain(on: id, model: model, dataset: dataset, adapter: adapter, options: options) { step, loss in
                    Task { await self.showProgress(ShardProgress(shard: shard, worker: worker, stepsDone: step, steps: steps, loss: loss)) }
                }
                await self.received(outcome, round: round, shard: shard, worker: worker, options: options,
                                    jobSeconds: started.duration(to: .now).inSeconds)
            } catch let failure as TaskFailure where failure.code == .rejected {
                // Refused before it was countersigned: the result contradicts its own receipt.
                post.yield(.resultRefused(round: round, shard: shard, worker: worker))
            } catch {
                post.yield(.shardFailed(round: round, shard: shard, worker: worker))
            }
        }
    }

    private func showProgress(_ shard: ShardProgress) {
        guard progress[shard.shard]?.worker != shard.worker || (progress[shard.shard]?.stepsDone ?? -1) <= shard.stepsDone else { return }
        progress[shard.shard] = shard
        onProgress(progress.values.sorted { $0.shard < $1.shard })
    }

    /// Keeps a result whose adapter parses and left the frozen factor alone; anything else
    /// is a failed shard.
    private func received(_ outcome: TaskPlane.TrainOutcome, round: Int, shard: Int, worker: String, options: TrainJobOptions,
                          jobSeconds: Double) {
        guard round == scheduler.round,
              let adapter = try? LoRAAdapterFile(file: try GGUFFile(bytes: outcome.adapter), path: "result").adapter else {
            post.yield(.shardFailed(round: round, shard: shard, worker: worker))
            return
        }
        creditedJobs[worker, default: []].append(Hex.encode(outcome.receipt.receipt.jobID))
        // The worker's figure is believed only as far as the job's time seen from here.
        let computeSeconds = min(Double(outcome.receipt.receipt.wallMillis) / 1000, jobSeconds)
        results[shard] = ShardResult(worker: worker, adapter: adapter, bytes: outcome.adapter,
                                     tokens: Int(clamping: outcome.receipt.receipt.tokens), losses: outcome.losses,
                                     stepResults: outcome.stepResults, options: options, computeSeconds: computeSeconds,
                                     jobSeconds: jobSeconds)
        post.yield(.resultArrived(round: round, shard: shard, worker: worker, tokens: Int(clamping: outcome.receipt.receipt.tokens)))
    }

    /// Re-runs a shard here, on the compute executor, in the worker's kernel class when this
    /// CPU can run it, and compares the adapters bit for bit (training is deterministic for
    /// fixed inputs in one kernel class); on a mismatch the two runs' step hashes show the
    /// first step where they parted. A worker whose class cannot run here (another ISA, or
    /// none published) is held to `UpdateComparison`'s tolerance on its update instead.
    private func verify(round: Int, shard: Int, worker: String) {
        guard let result = results[shard], result.worker == worker else {
            post.yield(.verified(round: round, shard: shard, worker: worker, matches: false))
            return
        }
        let (plane, post, modelPath, datasetPath, options, expected) = (plane, post, modelPath, datasetPath, result.options, result.bytes)
        let adapterPath: String? = try? plane.store.path(of: globalBlob)
        let threads = plane.settings.kernelThreads
        let published = (try? plane.ledger.profile(nodeID: worker))??.kernelClass ?? ""
        let workerClass = KernelClass(name: published).flatMap { $0.isRunnable ? $0 : nil }
        let runClass = workerClass ?? KernelClass.native
        let start = RoundAggregation.vector(global)
        let peer = peerVerifier(for: worker, kernelClass: published)
        if let peer { verifying.insert(peer.hex) }
        let (model, dataset, adapter) = (request.model, request.dataset, globalBlob)
        Task {
            let started = ContinuousClock.now
            // A peer of the worker's class that passed a check itself re-runs the shard; when it
            // agrees bit for bit the check is done without this node's compute. Anything else
            // (it failed, or it disagrees) falls back to re-running here, which decides.
            var remote: [UInt8]?
            if let peer {
                defer { verifying.remove(peer.hex) }
                if let outcome = try? await plane.runTrain(on: peer, model: model, dataset: dataset, adapter: adapter, options: options) {
                    creditedJobs[peer.hex, default: []].append(Hex.encode(outcome.receipt.receipt.jobID))
                    remote = outcome.adapter
                }
                if remote == expected {
                    finishCheck(FineTuneCheck(round: round, shard: shard, worker: worker, matched: true, firstDivergentStep: nil,
                                              seconds: started.duration(to: .now).inSeconds, kernelClass: published,
                                              relativeDifference: nil, verifier: peer.hex))
                    return
                }
            }
            var matches = false, firstDivergentStep: Int?, difference: Double?
            do {
                let again = try await plane.compute.run {
                    try KernelClass.withCurrent(runClass) {
                        try TrainJob.run(modelPath: modelPath, datasetPath: datasetPath, inputAdapterPath: adapterPath,
                                         options: options, pool: ThreadPool(threads: threads))
                    }
                }
                if workerClass != nil {
                    matches = again.adapterBytes == expected
                    if !matches {
                        firstDivergentStep = Self.firstDivergentStep(reported: result.stepResults, recomputed: again.stepResults)
                    }
                } else {
                    let recomputed = try LoRAAdapterFile(file: try GGUFFile(bytes: again.adapterBytes), path: "check").adapter
                    let measured = UpdateComparison.relativeDifference(
                        start: start, worker: RoundAggregation.vector(result.adapter), recomputed: RoundAggregation.vector(recomputed))
                    difference = measured
                    matches = measured <= UpdateComparison.defaultTolerance
                }
            } catch {
                logger.warning("fine-tune check could not re-run a shard", metadata: ["shard": "\(shard)", "error": "\(error)"])
            }
            if let peer, let remote, matches, remote != expected {
                // The worker's result stands and the peer's same-class re-run differs: the
                // verifier lied.
                logger.notice("fine-tune verifier returned a wrong result", metadata: ["verifier": "\(peer.fingerprint)"])
                post.yield(.misbehaved(peer.hex))
            }
            finishCheck(FineTuneCheck(round: round, shard: shard, worker: worker, matched: matches,
                                      firstDivergentStep: firstDivergentStep, seconds: started.duration(to: .now).inSeconds,
                                      kernelClass: runClass.name, relativeDifference: difference, verifier: nil))
        }
    }

    private func finishCheck(_ check: FineTuneCheck) {
        verificationSeconds[check.shard] = check.seconds
        checks.append(check)
        plane.counters.count(check.matched ? "finetune.verified" : "finetune.mismatch")
        if !check.matched {
            logger.notice("fine-tune result failed its check", metadata: [
                "worker": "\(check.worker.prefix(16))", "round": "\(check.round)", "shard": "\(check.shard)",
                "first divergent step": "\(check.firstDivergentStep.map(String.init) ?? "none")"])
        }
        post.yield(.verified(round: check.round, shard: check.shard, worker: check.worker, matches: check.matched))
    }

    /// A worker to re-run `worker`'s shard instead of this node: alive, not banned, not
    /// training or re-running anything right now, of the same published kernel class (so the
    /// bytes must match), and itself past a check. The fastest such; nil when none is.
    private func peerVerifier(for worker: String, kernelClass: String) -> NodeID? {
        guard !kernelClass.isEmpty else { return nil }
        let busy = Set(scheduler.shards.filter { $0.state == .running }.compactMap(\.worker))
        let candidates = scheduler.workers.values.filter { candidate in
            let id = candidate.candidate.id
            return id != worker && candidate.alive && !candidate.banned && candidate.verifiedResults > 0
                && !busy.contains(id) && !verifying.contains(id)
                && (try? plane.ledger.profile(nodeID: id))??.kernelClass == kernelClass
        }
        let fastest = candidates.max { ($0.candidate.tokensPerSecond, $1.candidate.id) < ($1.candidate.tokensPerSecond, $0.candidate.id) }
        return fastest.flatMap { Hex.decode($0.candidate.id).flatMap(NodeID.init(bytes:)) }
    }

    /// The first step (1-based) whose result hash differs between a worker's report and a
    /// re-execution; nil when every step agrees (then only the returned bytes differ).
    static func firstDivergentStep(reported: [[UInt8]], recomputed: [[UInt8]]) -> Int? {
        for step in 0..<max(reported.count, recomputed.count) {
            guard step < reported.count, step < recomputed.count, reported[step] == recomputed[step] else { return step + 1 }
        }
        return nil
    }

    private func closeRound(_ round: Int, _ closed: [FineTuneScheduler.RoundResult],
                            onRound: @Sendable (FineTuneRoundReport) -> Void) async throws {
        let kept = closed.compactMap { entry in results[entry.shard].map { (entry, $0) } }
        let factor = request.factors.trainedFactor(inRound: round)
        // The outer step and the adapter file are model work, for the compute executor.
        let (start, momentum, modelPath) = (global, optimizer, modelPath)
        let inputs = kept.map { ($0.1.adapter, $0.1.tokens) }
        let aggregationStarted = ContinuousClock.now
        let (next, stepped, bytes) = try await plane.compute.run {
            var stepped = momentum
            let next = try RoundAggregation.apply(global: start, results: inputs, factor: factor, optimizer: &stepped)
            return (next, stepped, try LoRAAdapterFile.serialized(next, baseModel: try GGUFFile(path: modelPath)))
        }
        (global, optimizer, globalBytes) = (next, stepped, bytes)
        globalBlob = try plane.store.add(bytes: bytes, kind: .adapter, name: "fine-tune round \(round)").id
        let tokens = kept.reduce(0) { $0 + $1.1.tokens }
        let weightedLoss = kept.reduce(0.0) { sum, pair in
            let losses = pair.1.losses
            return sum + (losses.isEmpty ? 0 : losses.reduce(0, +) / Double(losses.count)) * Double(pair.1.tokens)
        }
        let aggregation = aggregationStarted.duration(to: .now).inSeconds
        let wall = roundStarted.duration(to: .now).inSeconds
        let count = Double(max(kept.count, 1))
        let compute = kept.reduce(0) { $0 + $1.1.computeSeconds } / count
        let transfer = kept.reduce(0) { $0 + $1.1.jobSeconds - $1.1.computeSeconds } / count
        let verification = kept.reduce(0) { $0 + (verificationSeconds[$1.0.shard] ?? 0) } / count
        let timing = RoundTiming(compute: compute, transfer: transfer, verification: verification, aggregation: aggregation,
                                 waiting: max(0, wall - compute - transfer - verification - aggregation))
        let report = FineTuneRoundReport(
            round: round, factor: factor, workers: kept.map(\.1.worker), tokens: tokens,
            meanLoss: tokens > 0 ? weightedLoss / Double(tokens) : .nan, seconds: wall, adapter: globalBlob, timing: timing)
        reports.append(report)
        results = [:]
        verificationSeconds = [:]
        progress = [:]
        logger.info("fine-tune round closed", metadata: ["round": "\(round)", "loss": "\(report.meanLoss)", "workers": "\(kept.count)"])
        onRound(report)
    }

    /// Workers with a running shard that membership no longer lists as live are dead; known
    /// workers that are live again are available.
    private func noticeDeaths() async {
        let live = Set(await plane.dialer.liveMembers().map(\.hex))
        let running = Set(scheduler.shards.filter { $0.state == .running }.compactMap(\.worker))
        for worker in running where !live.contains(worker) {
            post.yield(.workerDied(worker))
        }
        for (id, worker) in scheduler.workers where !worker.alive && !worker.banned && live.contains(id) {
            post.yield(.workerAvailable(worker.candidate))
        }
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }
}
