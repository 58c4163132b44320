import Foundation
import TernMesh

/// The requesting side of `task/1`: inventory questions, and jobs sent to a named peer whose
/// result is checked before it is accepted.
struct TaskClient: Sendable {
    let dialer: PeerDialer

    /// What `peer` holds of `blobs`.
    func inventory(of blobs: [BlobID], at peer: NodeID) async throws -> [BlobHolding] {
        let connection = try await dialer.open(peer, TaskProtocol.task)
        defer { Task { await connection.close() } }
        try await connection.send(TaskRequest.inventory(requestID: 1, blobs: blobs).encoded())
        guard let frame = try await connection.receive() else { throw TransportError.connectionClosed }
        switch try TaskReply.decode(frame) {
        case let .inventory(1, holdings): return holdings.filter { blobs.contains($0.blob) }
        case let .failure(_, failure): throw failure
        default: throw FetchError.protocolViolation("unexpected answer to an inventory question")
        }
    }

    /// What a job sent to a peer came back with, once its receipt was checked, countersigned
    /// and acknowledged.
    struct Outcome: Sendable {
        var receipt: SignedReceipt
        var output: [UInt8]
    }

    /// Sends `job` to `worker`, passes each progress message to `onProgress` (each token of
    /// a `complete` job to `onToken`, which may refuse it by throwing), checks the
    /// result — the receipt must be the worker's, for this job, its inputs and options, and
    /// name the output actually sent — then countersigns it and waits for the worker to
    /// store that. A result that fails a check is rejected and thrown as `.rejected`.
    /// - Parameter fetchOutput: fetches an output the worker kept in its store because it
    ///   was too large to send inline (the result then carries no bytes).
    func run(_ job: JobRequest, on worker: NodeID, requester: NodeIdentity, mesh: MeshID,
             fetchOutput: @Sendable (BlobID) async throws -> [UInt8],
             checkOutput: @Sendable (SignedReceipt, [UInt8]) throws -> Void = { _, _ in },
             onAccepted: @Sendable () -> Void = {},
             onToken: @Sendable (_ token: Int32, _ text: String, _ logprobs: [LogprobEntry]) throws -> Void = { _, _, _ in },
             onProgress: @Sendable (_ text: String, _ done: UInt32, _ loss: Double?) -> Void) async throws -> Outcome {
        let connection = try await dialer.open(worker, TaskProtocol.task)
        defer { Task { await connection.close() } }
        let requestID: UInt32 = 1
        try await connection.send(TaskRequest.submit(requestID: requestID, job: job).encoded())
        while true {
            guard let frame = try await connection.receive() else { throw TransportError.connectionClosed }
            let reply = try TaskReply.decode(frame)
            guard reply.requestID == requestID else { throw FetchError.protocolViolation("reply to another request") }
            switch reply {
            case .accepted:
                onAccepted()
            case let .progress(_, text, done, loss):
                onProgress(text, done, loss)
            case let .token(_, token, text, logprobs):
                guard job.kind == .complete else { throw FetchError.protocolViolation("a token reply to a \(job.kind) job") }
                try onToken(token, text, logprobs)
            case let .failure(_, failure):
                throw failure
            case let .result(_, receiptBytes, inline):
                let signed: SignedReceipt
                var output = inline
                do {
                    signed = try SignedReceipt.decode(receiptBytes, mesh: mesh)
                    if output.isEmpty, let large = signed.receipt.output,
                       large != BlobManifest.hashing(bytes: []).id {
                        output = try await fetchOutput(large)
                    }
                    try Self.check(signed.receipt, of: job, worker: worker, requester: requester.nodeID, output: output)
                    try checkOutput(signed, output)
                } catch {
                    try? await connection.send(TaskRequest.reject(requestID: requestID, reason: "\(error)").encoded())
                    throw TaskFailure(.rejected, "result of job \(Hex.encode(job.jobID)) from \(worker.fingerprint) refused: \(error)")
                }
                let countersigned = try signed.countersigned(by: requester, mesh: mesh)
                try await connection.send(TaskRequest.accept(requestID: requestID, receipt: countersigned.encoded()).encoded())
                guard let ack = try await connection.receive() else { throw TransportError.connectionClosed }
                guard case .acknowledged(requestID) = try TaskReply.decode(ack) else {
                    throw FetchError.protocolViolation("receipt not acknowledged")
                }
                return Outcome(receipt: countersigned, output: output)
            case .inventory, .acknowledged:
                throw FetchError.protocolViolation("unexpected reply to a job")
            }
        }
    }

    /// A receipt is accepted only when it describes exactly the job that was asked for and
    /// the output that arrived.
    static func check(_ receipt: JobReceipt, of job: JobRequest, worker: NodeID, requester: NodeID, output: [UInt8]) throws {
        func require(_ condition: Bool, _ what: String) throws {
            if !condition { throw TaskFailure(.rejected, "receipt \(what)") }
        }
        try require(receipt.worker == worker, "is signed for another worker")
        try require(receipt.requester == requester, "names another requester")
        try require(receipt.jobID == job.jobID, "is for another job")
        try require(receipt.kind == job.kind, "names another job kind")
        try require(receipt.inputs == job.inputs, "lists other inputs")
        try require(receipt.optionsHash == job.optionsHash, "hashes other options")
        try require(receipt.output == BlobManifest.hashing(bytes: output).id, "names an output other than the one sent")
    }
}
