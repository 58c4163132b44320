import Foundation
import Synchronization
import TernLedger
import TernMesh
import TernModel

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
        let outcome = try await send(job, to: worker, onProgress: { text, _, _ in
            if !text.isEmpty { onText(text) }
        })
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
        /// Every step's result hash, as the worker reported it; they fold into the receipt's
        /// chain root, and the last is the returned adapter's hash.
        public var stepResults: [[UInt8]]
    }

    /// Runs a `train` job on `worker`: `steps` optimizer steps of `options` on `dataset`,
    /// starting from `adapter` (or a fresh one). The worker fetches what it lacks.
    public func runTrain(on worker: NodeID, model: BlobID, dataset: BlobID, adapter: BlobID?, options: TrainJobOptions,
                         onStep: @escaping @Sendable (Int, Double) -> Void = { _, _ in }) async throws -> TrainOutcome {
        let job = JobRequest(jobID: JobRequest.newJobID(), kind: .train, inputs: [model, dataset] + (adapter.map { [$0] } ?? []),
                             options: options.canonicalBytes(), holders: [])
        let log = StepLog(limit: options.steps + 1)
        let outcome = try await send(job, to: worker, checkOutput: { signed, output in
            try Self.checkTrainResult(signed.receipt, output: output, steps: log.values, expectedSteps: options.steps)
        }, onProgress: { text, step, loss in
            if let loss {
                log.append(loss: loss, resultHash: Hex.decode(text) ?? [])
                onStep(Int(step), loss)
            }
        })
        let steps = log.values
        return TrainOutcome(adapter: outcome.output, receipt: outcome.receipt, losses: steps.map(\.loss),
                            stepResults: steps.map(\.resultHash))
    }

    /// A train result is refused, before it is countersigned, unless the worker reported one
    /// result hash per step, they fold into the chain root its receipt signs, and the last
    /// one is the hash of the adapter it returned. A worker whose output is not what its own
    /// signed chain says is caught here without re-running anything.
    static func checkTrainResult(_ receipt: JobReceipt, output: [UInt8], steps: [StepLog.Entry], expectedSteps: Int) throws {
        guard steps.count == expectedSteps, steps.allSatisfy({ $0.resultHash.count == 32 }) else {
            throw TaskFailure(.rejected, "reported \(steps.count) step hashes for \(expectedSteps) steps")
        }
        var chain = StepHashChain()
        for step in steps { chain.append(step.resultHash) }
        guard chain.root == receipt.stepChainRoot else {
            throw TaskFailure(.rejected, "the reported step hashes do not fold into the receipt's chain root")
        }
        let adapter: LoRAAdapter
        do {
            adapter = try LoRAAdapterFile(file: try GGUFFile(bytes: output), path: "result").adapter
        } catch {
            throw TaskFailure(.rejected, "the output is not a LoRA adapter: \(error)")
        }
        guard try TrainJob.parameterHash(of: adapter) == steps.last?.resultHash else {
            throw TaskFailure(.rejected, "the adapter returned is not the one the last step produced")
        }
    }

    /// Sends `job` and, once its result checks out, records the countersigned receipt with
    /// the worker's credit and keeps the output as a blob; a refused result is recorded as a
    /// rejected job and lowers the worker's score.
    func send(_ job: JobRequest, to worker: NodeID,
              checkOutput: @escaping @Sendable (SignedReceipt, [UInt8]) throws -> Void = { _, _ in },
              onAccepted: @escaping @Sendable () -> Void = {},
              onToken: @escaping @Sendable (Int32, String, [LogprobEntry]) throws -> Void = { _, _, _ in },
              onProgress: @escaping @Sendable (String, UInt32, Double?) -> Void = { _, _, _ in }) async throws -> TaskClient.Outcome {
        let outcome: TaskClient.Outcome
        do {
            outcome = try await TaskClient(dialer: dialer).run(
                job, on: worker, requester: identity, mesh: mesh,
                fetchOutput: { id in
                    _ = try await self.fetch(id, kind: .output, name: "job \(Hex.encode(job.jobID))", hints: [worker])
                    return try Array(Data(contentsOf: URL(fileURLWithPath: self.store.path(of: id))))
                },
                checkOutput: checkOutput, onAccepted: onAccepted, onToken: onToken,
                onProgress: onProgress)
        } catch let failure as TaskFailure where failure.code == .rejected {
            counters.count("task.resultRefused")
            await dialer.misbehaved(worker)
            try? ledger.recordJobOutcome(nodeID: worker.hex, accepted: false, tokens: 0, wallMillis: 0)
            throw failure
        }
        try ledger.acceptReceipt(ReceiptRecord(outcome.receipt, accepted: true), creditTo: worker.hex)
        // A completion's output (how it ended) lives on in its receipt, not as a blob.
        if job.kind != .complete {
            _ = try? store.add(bytes: outcome.output, kind: job.kind == .train ? .adapter : .output,
                               name: "job \(Hex.encode(job.jobID))")
        }
        return outcome
    }
}

/// Steps reported by a running train job (loss and result hash), collected from its
/// progress messages.
final class StepLog: Sendable {
    struct Entry: Sendable {
        var loss: Double
        var resultHash: [UInt8]
    }

    private let log = Mutex<[Entry]>([])
    /// Entries kept at most: a worker that reports more steps than the job has cannot grow
    /// this without bound (one too many is kept, so the count check still fails).
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func append(loss: Double, resultHash: [UInt8]) {
        log.withLock { if $0.count < limit { $0.append(Entry(loss: loss, resultHash: resultHash)) } }
    }
    var values: [Entry] { log.withLock { $0 } }
}
