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
        // Relative speed from each peer's signed profile (its measured ternary throughput);
        // a peer that has not published one yet counts as the slowest known.
        let measured = live.map { (try? plane.ledger.profile(nodeID: $0.hex))??.gops ?? 0 }
        let floor = measured.filter { $0 > 0 }.min() ?? 1
        let speeds = measured.map { $0 > 0 ? $0 : floor }
        let fineTune = FineTuneRequest(
            model: model.id, dataset: dataset.id, rounds: request.rounds, innerSteps: request.innerSteps,
            workers: request.workers, training: request.training, factors: factors,
            outerLearningRate: request.outerLearningRate, outerMomentum: request.outerMomentum, verifyRate: request.verifyRate)
        let dispatcher: FineTuneDispatcher
        do {
            dispatcher = try FineTuneDispatcher(plane: plane, request: fineTune, workers: Array(zip(live, speeds)), logger: logger)
        } catch {
            throw TaskFailure(.badRequest, "\(error)")
        }
        let id = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
        let status = FineTuneStatus(id: id, state: "running", rounds: request.rounds, workers: live.map(\.hex),
                                    completed: [], banned: [], error: nil, outPath: request.outPath, startedAt: Date())
        tasks.withLock { $0[id] = (status, nil) }
        let task = Task { [self] in
            do {
                let outcome = try await dispatcher.run { report in
                    self.tasks.withLock { $0[id]?.status.completed.append(report) }
                }
                try Data(outcome.adapter).write(to: URL(fileURLWithPath: request.outPath), options: .atomic)
                try self.register(outcome, of: fineTune)
                tasks.withLock {
                    $0[id]?.status.state = "finished"
                    $0[id]?.status.banned = outcome.bannedWorkers
                    $0[id]?.status.finishedAt = Date()
                }
            } catch {
                let cancelled = Task.isCancelled
                logger.notice("fine-tune ended", metadata: ["task": "\(id)", "error": "\(error)"])
                tasks.withLock {
                    $0[id]?.status.state = cancelled ? "cancelled" : "failed"
                    $0[id]?.status.error = cancelled ? nil : "\(error)"
                    $0[id]?.status.finishedAt = Date()
                }
            }
        }
        tasks.withLock { $0[id]?.task = task }
        return status
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
        let all = tasks.withLock { $0.values.map(\.status) }.sorted { $0.startedAt < $1.startedAt }
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
