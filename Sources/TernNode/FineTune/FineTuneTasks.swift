import Foundation
import Logging
import Synchronization
import TernMesh
import TernModel
import TernLedger
import TernTasks

/// `POST /v1/finetune`: dispatch a fine-tune of a local model on a local dataset.
public struct FineTuneDispatchRequest: Codable, Sendable, Equatable {
    public var modelPath: String
    public var dataPath: String
    public var outPath: String
    public var workers: Int
    public var rounds: Int
    public var innerSteps: Int
    public var training: TrainJobOptions
    public var factors: String
    public var outerLearningRate: Float
    public var outerMomentum: Float
    public var verifyRate: Double

    public init(modelPath: String, dataPath: String, outPath: String, workers: Int, rounds: Int, innerSteps: Int,
                training: TrainJobOptions, factors: String, outerLearningRate: Float, outerMomentum: Float, verifyRate: Double) {
        self.modelPath = modelPath; self.dataPath = dataPath; self.outPath = outPath; self.workers = workers
        self.rounds = rounds; self.innerSteps = innerSteps; self.training = training; self.factors = factors
        self.outerLearningRate = outerLearningRate; self.outerMomentum = outerMomentum; self.verifyRate = verifyRate
    }
}

/// Where a dispatched fine-tune stands (`tern finetune status`).
public struct FineTuneStatus: Codable, Sendable, Equatable {
    public var id: String
    /// running, finished, failed or cancelled.
    public var state: String
    public var rounds: Int
    public var workers: [String]
    public var completed: [FineTuneRoundReport]
    public var banned: [String]
    public var error: String?
    public var outPath: String
    public var startedAt: Date
    public var finishedAt: Date?
    /// Every re-execution of a worker's result and its verdict.
    public var checks: [FineTuneCheck]?
    /// The shards of the round in progress, as their workers report steps.
    public var running: [ShardProgress]?
}

/// The fine-tunes this daemon dispatches: each runs in a task of its own; its status is kept
/// in memory for `tern finetune status` (a restarted daemon does not resume them yet).
public final class FineTuneTasks: Sendable {
    let plane: TaskPlane
    let logger: Logger
    private let tasks = Mutex<[String: (status: FineTuneStatus, task: Task<Void, Never>?)]>([:])

    public init(plane: TaskPlane, logger: Logger) {
        self.plane = plane
        self.logger = logger
    }

    /// Registers the model (in place) and the dataset as blobs, picks up to `workers` live
    /// peers, and starts the rounds; returns at once with the task's status.
    public func dispatch(_ request: FineTuneDispatchRequest) async throws -> FineTuneStatus {
        guard let factors = FactorSchedule(rawValue: request.factors) else {
            throw TaskFailure(.badRequest, "--factors must be \(FactorSchedule.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard request.workers >= 1, request.rounds >= 1, request.innerSteps >= 1 else {
            throw TaskFailure(.badRequest, "workers, rounds and inner steps must each be at least 1")
        }
        do {
            try request.training.validate()
        } catch {
            throw TaskFailure(.badRequest, "\(error)")
        }
        let model = try plane.store.add(fileAt: request.modelPath, kind: .model, name: URL(fileURLWithPath: request.modelPath).lastPathComponent, copy: false)
        let dataset = try plane.store.add(fileAt: request.dataPath, kind: .dataset, name: URL(fileURLWithPath: request.dataPath).lastPathComponent, copy: true)
        let live = await plane.dialer.liveMembers().sorted()
        guard !live.isEmpty else { throw TaskFailure(.notFound, "no live peer to train on: join a mesh first (tern mesh peers)") }
        let candidates = WorkerRanking.candidates(live.map(rankingFacts), memoryNeeded: model.size + (256 << 20))
        guard !candidates.isEmpty else {
            throw TaskFailure(.notFound, "none of the \(live.count) live peers can train: each lied in a checked job or lacks the memory")
        }
        let speeds = candidates.compactMap { candidate in
            live.first { $0.hex == candidate.id }.map { ($0, candidate.tokensPerSecond) }
        }
        let fineTune = FineTuneRequest(
            model: model.id, dataset: dataset.id, rounds: request.rounds, innerSteps: request.innerSteps,
            workers: request.workers, training: request.training, factors: factors,
            outerLearningRate: request.outerLearningRate, outerMomentum: request.outerMomentum, verifyRate: request.verifyRate)
        let dispatcher: FineTuneDispatcher
        do {
            // Loading the model and cutting the dataset into sequences is model work: it runs on
            // the compute executor, not on the pool that answers the network.
            let (plane, logger, workers) = (plane, logger, speeds)
            dispatcher = try await plane.compute.run {
                try FineTuneDispatcher(plane: plane, request: fineTune, workers: workers, logger: logger)
            }
        } catch {
            throw TaskFailure(.badRequest, "\(error)")
        }
        let id = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
        let status = FineTuneStatus(id: id, state: "running", rounds: request.rounds, workers: speeds.map(\.0.hex),
                                    completed: [], banned: [], error: nil, outPath: request.outPath, startedAt: Date())
        let stored = StoredFineTune(request: request, fineTune: fineTune, checkpoint: nil, status: status)
        try save(stored)
        launch(dispatcher, stored)
        return status
    }

    /// What this node knows of a peer for choosing workers: its signed profile (throughput,
    /// load, free memory) and its receipts and credit here.
    private func rankingFacts(_ peer: NodeID) -> WorkerRanking.Peer {
        let (record, profile) = plane.profile(of: peer)
        return WorkerRanking.Peer(
            id: peer.hex, ternaryGOPS: record?.gops ?? 0, loadPercent: Int(profile?.loadPercent ?? 0),
            ramAvailableBytes: profile?.ramAvailableBytes,
            receiptTokensPerSecond: (try? plane.ledger.trainTokensPerSecond(of: peer.hex)) ?? nil,
            revokedJobs: Int((try? plane.ledger.credit(nodeID: peer.hex))??.jobsRevoked ?? 0))
    }

    /// Picks up every fine-tune the ledger says was running when this node stopped: each
    /// runs the round it was in again, from the last checkpoint.
    /// Waits (up to two minutes) until this node sees a live peer again, so that workers are
    /// not all taken for dead while the node is still rejoining.
    public func resumeUnfinished() async {
        let records = (try? plane.ledger.tasks(state: "running").filter { $0.kind == Self.kind }) ?? []
        guard !records.isEmpty else { return }
        let deadline = ContinuousClock.now + .seconds(120)
        while await plane.dialer.liveMembers().isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(500))
        }
        for record in records {
            do {
                let stored = try JSONDecoder().decode(StoredFineTune.self, from: Data(record.configJSON.utf8))
                guard let checkpoint = stored.checkpoint else { throw TaskFailure(.internalError, "no checkpoint was written") }
                let (plane, logger) = (plane, logger)
                let dispatcher = try await plane.compute.run {
                    try FineTuneDispatcher(plane: plane, request: stored.fineTune, resuming: checkpoint, logger: logger)
                }
                logger.info("resuming fine-tune", metadata: ["task": "\(record.id)", "round": "\(checkpoint.scheduler.round)"])
                launch(dispatcher, stored)
            } catch {
                logger.error("cannot resume fine-tune", metadata: ["task": "\(record.id)", "error": "\(error)"])
                var failed = record
                failed.state = "failed"
                failed.updatedAt = Date()
                try? plane.ledger.saveTask(failed)
            }
        }
    }

    /// Everything a task needs after a restart, kept as the task row's JSON.
    struct StoredFineTune: Codable, Sendable {
        var request: FineTuneDispatchRequest
        var fineTune: FineTuneRequest
        var checkpoint: FineTuneCheckpoint?
        var status: FineTuneStatus
    }

    static let kind = "finetune"

    private func save(_ stored: StoredFineTune) throws {
        let json = String(decoding: try JSONEncoder().encode(stored), as: UTF8.self)
        let now = Date()
        try plane.ledger.saveTask(TaskRecord(
            id: stored.status.id, kind: Self.kind, state: stored.status.state, dispatcherNodeID: plane.identity.nodeID.hex,
            baseModelHash: stored.fineTune.model.hex, datasetHash: stored.fineTune.dataset.hex, configJSON: json,
            createdAt: stored.status.startedAt, updatedAt: now))
    }

    /// Runs the dispatcher in a task of its own, keeping the status in memory and the
    /// checkpoint and final state in the ledger.
    private func launch(_ dispatcher: FineTuneDispatcher, _ initial: StoredFineTune) {
        let id = initial.status.id
        let stored = StoredState(initial)
        tasks.withLock { $0[id] = (initial.status, nil) }
        let request = initial.request, fineTune = initial.fineTune
        let task = Task { [self] in
            do {
                let outcome = try await dispatcher.run(
                    onRound: { report in self.tasks.withLock { $0[id]?.status.completed.append(report) } },
                    onCheckpoint: { checkpoint in
                        let snapshot = stored.value.withLock { entry in
                            entry.checkpoint = checkpoint
                            entry.status.completed = checkpoint.rounds
                            entry.status.banned = checkpoint.banned
                            entry.status.checks = checkpoint.checks
                            return entry
                        }
                        self.tasks.withLock {
                            $0[id]?.status.checks = checkpoint.checks
                            $0[id]?.status.banned = checkpoint.banned
                        }
                        try? self.save(snapshot)
                    },
                    onProgress: { shards in self.tasks.withLock { $0[id]?.status.running = shards } })
                try Data(outcome.adapter).write(to: URL(fileURLWithPath: request.outPath), options: .atomic)
                try self.register(outcome, of: fineTune)
                self.finish(id, stored: stored, state: "finished", error: nil, banned: outcome.bannedWorkers)
            } catch {
                let cancelled = Task.isCancelled
                logger.notice("fine-tune ended", metadata: ["task": "\(id)", "error": "\(error)"])
                self.finish(id, stored: stored, state: cancelled ? "cancelled" : "failed", error: cancelled ? nil : "\(error)", banned: nil)
            }
        }
        tasks.withLock { $0[id]?.task = task }
    }

    private func finish(_ id: String, stored: StoredState, state: String, error: String?, banned: [String]?) {
        let now = Date()
        tasks.withLock {
            $0[id]?.status.state = state
            $0[id]?.status.error = error
            if let banned { $0[id]?.status.banned = banned }
            $0[id]?.status.finishedAt = now
            $0[id]?.status.running = nil
        }
        let final = stored.value.withLock { entry in
            entry.status.state = state
            entry.status.error = error
            entry.status.finishedAt = now
            return entry
        }
        try? save(final)
    }

    /// Records the final adapter in the ledger's `adapters` table with how it was made.
    private func register(_ outcome: FineTuneOutcome, of request: FineTuneRequest) throws {
        let metrics: [String: Any] = [
            "rounds": outcome.rounds.count,
            "workers": Array(Set(outcome.rounds.flatMap(\.workers))).sorted(),
            "tokens": outcome.rounds.reduce(0) { $0 + $1.tokens },
            "round_losses": outcome.rounds.map(\.meanLoss).map { $0.isFinite ? $0 : 0 },
            "banned": outcome.bannedWorkers,
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: metrics, options: [.sortedKeys]), as: UTF8.self)
        try plane.ledger.registerAdapter(AdapterRecord(
            hash: outcome.adapterBlob.hex, baseModelHash: request.model.hex, rank: request.training.rank,
            alpha: request.training.alpha, modules: request.training.modules, datasetHash: request.dataset.hex,
            metricsJSON: json, blobHash: outcome.adapterBlob.hex, createdAt: Date()))
    }

    public func status(_ id: String? = nil) throws -> [FineTuneStatus] {
        var all = tasks.withLock { $0.values.map(\.status) }
        // A task of this run (what `--wait` polls every second) needs no ledger read.
        if let id, let running = all.first(where: { $0.id.hasPrefix(id.lowercased()) }) { return [running] }
        // Fine-tunes of earlier runs of this node, as the ledger remembers them.
        let known = Set(all.map(\.id))
        for state in ["finished", "failed", "cancelled"] {
            for record in (try? plane.ledger.tasks(state: state)) ?? [] where record.kind == Self.kind && !known.contains(record.id) {
                if let stored = try? JSONDecoder().decode(StoredFineTune.self, from: Data(record.configJSON.utf8)) {
                    all.append(stored.status)
                }
            }
        }
        all.sort { $0.startedAt < $1.startedAt }
        guard let id else { return all }
        guard let one = all.first(where: { $0.id.hasPrefix(id.lowercased()) }) else {
            throw TaskFailure(.notFound, "no fine-tune \(id) on this node")
        }
        return [one]
    }

    public func cancel(_ id: String) throws -> FineTuneStatus {
        guard let status = try status(id).first else { throw TaskFailure(.notFound, "no fine-tune \(id)") }
        tasks.withLock { $0[status.id]?.task?.cancel() }
        return status
    }
}

/// A running fine-tune's stored form, shared by its task and its checkpoint callback.
final class StoredState: Sendable {
    let value: Mutex<FineTuneTasks.StoredFineTune>
    init(_ initial: FineTuneTasks.StoredFineTune) { value = Mutex(initial) }
}
