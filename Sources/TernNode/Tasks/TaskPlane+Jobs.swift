import Foundation
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
        let outcome: TaskClient.Outcome
        do {
            outcome = try await TaskClient(dialer: dialer).run(job, on: worker, requester: identity, mesh: mesh) { text, _, _ in
                if !text.isEmpty { onText(text) }
            }
        } catch let failure as TaskFailure where failure.code == .rejected {
            counters.count("task.resultRefused")
            await dialer.misbehaved(worker)
            try? ledger.recordJobOutcome(nodeID: worker.hex, accepted: false, tokens: 0, wallMillis: 0)
            throw failure
        }
        let receipt = outcome.receipt.receipt
        try ledger.acceptReceipt(ReceiptRecord(outcome.receipt, accepted: true), creditTo: worker.hex)
        _ = try? store.add(bytes: outcome.output, kind: .output, name: "job \(Hex.encode(job.jobID))")
        return JobRunReply(
            jobID: Hex.encode(job.jobID), worker: worker.hex, text: String(decoding: outcome.output, as: UTF8.self),
            tokens: receipt.tokens, outputBlob: receipt.output?.hex, wallMillis: receipt.wallMillis,
            stepChainRoot: Hex.encode(receipt.stepChainRoot), signedReceipt: Hex.encode(outcome.receipt.encoded()))
    }
}
