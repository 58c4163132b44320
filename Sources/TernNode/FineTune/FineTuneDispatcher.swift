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
                factors: FactorSchedule = .alternating, outerLearningRate: Float = 0.7, outerMomentum: Float = 0.9,
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
}

/// What a finished fine-tune produced.
public struct FineTuneOutcome: Sendable {
    public var adapter: [UInt8]
    public var adapterBlob: BlobID
    public var rounds: [FineTuneRoundReport]
    public var bannedWorkers: [String]
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
        var options: TrainJobOptions
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
        resuming = true
        (events, post) = AsyncStream.makeStream()
    }

    /// The state to write down now.
    private var checkpoint: FineTuneCheckpoint {
        FineTuneCheckpoint(scheduler: scheduler, globalAdapter: globalBlob, optimizer: optimizer, rounds: reports, banned: banned)
    }

    /// Runs every round and returns the final adapter. `onCheckpoint` receives the state to
    /// persist at the start, after every round and at every ban.
    public func run(onRound: @escaping @Sendable (FineTuneRoundReport) -> Void = { _ in },
                    onCheckpoint: @escaping @Sendable (FineTuneCheckpoint) -> Void = { _ in }) async throws -> FineTuneOutcome {
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
                        try? plane.ledger.recordJobOutcome(nodeID: worker, accepted: false, tokens: 0, wallMillis: 0)
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
                    return FineTuneOutcome(adapter: bytes, adapterBlob: globalBlob, rounds: reports, bannedWorkers: banned)
                case let .failed(reason):
                    throw TaskFailure(.internalError, "fine-tune stopped: \(reason)")
                }
            }
            guard let event = await iterator.next() else { throw CancellationError() }
            if case .tick = event { await noticeDeaths() }
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
        Task {
            do {
                let outcome = try await plane.runTrain(on: id, model: model, dataset: dataset, adapter: adapter, options: options)
                await self.received(outcome, round: round, shard: shard, worker: worker, options: options)
            } catch {
                post.yield(.shardFailed(round: round, shard: shard, worker: worker))
            }
        }
    }

    /// Keeps a result whose adapter parses and left the frozen factor alone; anything else
    /// is a failed shard.
    private func received(_ outcome: TaskPlane.TrainOutcome, round: Int, shard: Int, worker: String, options: TrainJobOptions) {
        guard round == scheduler.round,
              let adapter = try? LoRAAdapterFile(file: try GGUFFile(bytes: outcome.adapter), path: "result").adapter else {
            post.yield(.shardFailed(round: round, shard: shard, worker: worker))
            return
        }
        results[shard] = ShardResult(worker: worker, adapter: adapter, bytes: outcome.adapter,
                                     tokens: Int(clamping: outcome.receipt.receipt.tokens), losses: outcome.losses, options: options)
        post.yield(.resultArrived(round: round, shard: shard, worker: worker, tokens: Int(clamping: outcome.receipt.receipt.tokens)))
    }

    /// Re-runs a shard here, on the compute executor, and compares the adapters bit for bit
    /// (training is deterministic for fixed inputs on one kernel class).
    private func verify(round: Int, shard: Int, worker: String) {
        guard let result = results[shard], result.worker == worker else {
            post.yield(.verified(round: round, shard: shard, worker: worker, matches: false))
            return
        }
        let (plane, post, modelPath, datasetPath, options, expected) = (plane, post, modelPath, datasetPath, result.options, result.bytes)
        let adapterPath: String? = try? plane.store.path(of: globalBlob)
        Task {
            let matches: Bool
            do {
                let again = try await plane.compute.run {
                    try TrainJob.run(modelPath: modelPath, datasetPath: datasetPath, inputAdapterPath: adapterPath, options: options,
                                     progress: { _, _ in })
                }
                matches = again.adapterBytes == expected
            } catch {
                matches = false
            }
            plane.counters.count(matches ? "finetune.verified" : "finetune.mismatch")
            post.yield(.verified(round: round, shard: shard, worker: worker, matches: matches))
        }
    }

    private func closeRound(_ round: Int, _ closed: [FineTuneScheduler.RoundResult],
                            onRound: @Sendable (FineTuneRoundReport) -> Void) async throws {
        let kept = closed.compactMap { entry in results[entry.shard].map { (entry, $0) } }
        let factor = request.factors.trainedFactor(inRound: round)
        // The outer step and the adapter file are model work, for the compute executor.
        let (start, momentum, modelPath) = (global, optimizer, modelPath)
        let inputs = kept.map { ($0.1.adapter, $0.1.tokens) }
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
        let report = FineTuneRoundReport(
            round: round, factor: factor, workers: kept.map(\.1.worker), tokens: tokens,
            meanLoss: tokens > 0 ? weightedLoss / Double(tokens) : .nan, seconds: roundStarted.duration(to: .now).inSeconds,
            adapter: globalBlob)
        reports.append(report)
        results = [:]
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
