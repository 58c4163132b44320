import Foundation
import Synchronization
import TernLedger
import TernMesh

/// What a job run on a peer returned, for the control API and `tern job run`.
public struct JobRunReply: Codable, Sendable, Equatable {
    public var jobID: String
    public var worker: String
    public var text: String
    public var tokens: UInt64
    public var outputBlob: String?
    public var wallMillis: UInt64
    public var stepChainRoot: String
    /// Hex of the countersigned receipt's bytes, so anyone can verify both signatures.
    public var signedReceipt: String
}

extension TaskPlane {
    /// Runs a `generate` job for `model` on `worker`, which fetches the model from this node
    /// or any holder if it lacks it. The result is accepted only with a receipt that checks
    /// out; accepted and refused results both land in the ledger (receipts, credits).
    public func runGenerate(on worker: NodeID, model: BlobID, options: GenerateOptions,
                            onText: @escaping @Sendable (String) -> Void = { _ in }) async throws -> JobRunReply {
        let job = JobRequest(jobID: JobRequest.newJobID(), kind: .generate, inputs: [model], options: options.encoded(),
                             holders: [])
        let outcome = try await send(job, to: worker) { text, _, _ in
            if !text.isEmpty { onText(text) }
        }
        let receipt = outcome.receipt.receipt
        return JobRunReply(
            jobID: Hex.encode(job.jobID), worker: worker.hex, text: String(decoding: outcome.output, as: UTF8.self),
            tokens: receipt.tokens, outputBlob: receipt.output?.hex, wallMillis: receipt.wallMillis,
            stepChainRoot: Hex.encode(receipt.stepChainRoot), signedReceipt: Hex.encode(outcome.receipt.encoded()))
    }

    /// What a train job returned: the trained adapter (GGUF LoRA) and its countersigned receipt.
    public struct TrainOutcome: Sendable {
        public var adapter: [UInt8]
        public var receipt: SignedReceipt
        /// The loss of every step, as the worker reported it while training.
        public var losses: [Double]
    }

    /// Runs a `train` job on `worker`: `steps` optimizer steps of `options` on `dataset`,
    /// starting from `adapter` (or a fresh one). The worker fetches what it lacks.
    public func runTrain(on worker: NodeID, model: BlobID, dataset: BlobID, adapter: BlobID?, options: TrainJobOptions,
                         onStep: @escaping @Sendable (Int, Double) -> Void = { _, _ in }) async throws -> TrainOutcome {
        let job = JobRequest(jobID: JobRequest.newJobID(), kind: .train, inputs: [model, dataset] + (adapter.map { [$0] } ?? []),
                             options: options.canonicalBytes(), holders: [])
        let losses = LossLog()
        let outcome = try await send(job, to: worker) { _, step, loss in
            if let loss {
                losses.append(loss)
                onStep(Int(step), loss)
            }
        }
        return TrainOutcome(adapter: outcome.output, receipt: outcome.receipt, losses: losses.values)
    }

    /// Sends `job` and, once its result checks out, records the countersigned receipt with
    /// the worker's credit and keeps the output as a blob; a refused result is recorded as a
    /// rejected job and lowers the worker's score.
    func send(_ job: JobRequest, to worker: NodeID,
              onProgress: @escaping @Sendable (String, UInt32, Double?) -> Void) async throws -> TaskClient.Outcome {
        let outcome: TaskClient.Outcome
        do {
            outcome = try await TaskClient(dialer: dialer).run(
                job, on: worker, requester: identity, mesh: mesh,
                fetchOutput: { id in
                    _ = try await self.fetch(id, kind: .output, name: "job \(Hex.encode(job.jobID))", hints: [worker])
                    return try Array(Data(contentsOf: URL(fileURLWithPath: self.store.path(of: id))))
                },
                onProgress: onProgress)
        } catch let failure as TaskFailure where failure.code == .rejected {
            counters.count("task.resultRefused")
            await dialer.misbehaved(worker)
            try? ledger.recordJobOutcome(nodeID: worker.hex, accepted: false, tokens: 0, wallMillis: 0)
            throw failure
        }
        try ledger.acceptReceipt(ReceiptRecord(outcome.receipt, accepted: true), creditTo: worker.hex)
        _ = try? store.add(bytes: outcome.output, kind: job.kind == .train ? .adapter : .output,
                           name: "job \(Hex.encode(job.jobID))")
        return outcome
    }
}

/// Losses reported by a running train job, collected from its progress messages.
final class LossLog: Sendable {
    private let log = Mutex<[Double]>([])
    func append(_ loss: Double) { log.withLock { $0.append(loss) } }
    var values: [Double] { log.withLock { $0 } }
}
