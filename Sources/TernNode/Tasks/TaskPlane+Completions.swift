import Foundation
import Synchronization
import TernLedger
import TernMesh
import TernModel

extension TaskPlane {
    /// The signed profile this node keeps of `peer` (from gossip, verified when stored), and
    /// the ledger's record of it.
    func profile(of peer: NodeID) -> (record: ProfileRecord?, profile: HardwareProfile?) {
        let record = try? ledger.profile(nodeID: peer.hex)
        let profile = record.flatMap { record in
            try? HardwareProfile(decoding: Array(record.signedBytes.dropLast(NodeIdentity.signatureByteCount)))
        }
        return (record, profile)
    }

    /// Runs one completion on `worker`, which must hold `inputs` (the model, optionally an
    /// adapter), passing each token on as it arrives. The result is accepted — countersigned,
    /// the worker credited — only when its receipt's chain root is the hash chain of exactly
    /// the tokens that arrived and the output says as many tokens as the job resumed plus
    /// those. A worker that streams more tokens than the job allows is refused at the first
    /// one too many, before it is passed on (so a peer cannot grow a reply without bound).
    /// Throws `TaskFailure` (the worker's own, or `.rejected`) or a transport error.
    func runCompletion(on worker: NodeID, inputs: [BlobID], options: CompletionJobOptions,
                       onAccepted: @escaping @Sendable () -> Void,
                       onToken: @escaping @Sendable (Int32, String, TokenLogprobs?) -> Void) async throws -> CompletionJobResult {
        let job = JobRequest(jobID: JobRequest.newJobID(), kind: .complete, inputs: inputs, options: options.encoded(), holders: [])
        let received = Mutex<(chain: StepHashChain, count: Int)>((StepHashChain(), 0))
        let resumed = options.resumedTokens.count
        let budget = Int(options.maxTokens) - resumed
        let outcome = try await send(job, to: worker, checkOutput: { signed, output in
            let result = try CompletionJobResult.decode(output)
            let (chain, count) = received.withLock { ($0.chain, $0.count) }
            guard signed.receipt.stepChainRoot == chain.root, signed.receipt.tokens == UInt64(count) else {
                throw TaskFailure(.rejected, "the receipt does not cover the \(count) tokens that were streamed")
            }
            guard Int(result.completionTokens) == resumed + count else {
                throw TaskFailure(.rejected, "the result counts \(result.completionTokens) tokens; \(resumed) resumed + \(count) streamed")
            }
        }, onAccepted: onAccepted, onToken: { token, text, logprobs in
            let within = received.withLock { state in
                guard state.count < budget else { return false }
                withUnsafeBytes(of: token.bigEndian) { state.chain.append(Array($0)) }
                state.count += 1
                return true
            }
            guard within else { throw TaskFailure(.rejected, "the worker streamed more than the \(budget) tokens the job allows") }
            onToken(token, text, LogprobEntry.logprobs(logprobs))
        })
        return try CompletionJobResult.decode(outcome.output)
    }
}
