import Foundation
import TernLedger
import TernMesh

extension ReceiptRecord {
    /// The ledger row of a verified receipt. Counts above Int64.max (only a hostile worker
    /// signs such numbers) are clamped rather than refused, so the row still records the lie.
    public init(_ signed: SignedReceipt, accepted: Bool = false, createdAt: Date = Date()) {
        let r = signed.receipt
        self.init(jobID: Hex.encode(r.jobID), kind: r.kind.name, workerNodeID: r.worker.hex, requesterNodeID: r.requester.hex,
                  outputBlobID: r.output?.hex, tokens: Int64(clamping: r.tokens), wallMillis: Int64(clamping: r.wallMillis),
                  signedBytes: Data(signed.encoded()), workerSignature: Data(signed.workerSignature),
                  requesterSignature: signed.requesterSignature.map { Data($0) }, accepted: accepted, createdAt: createdAt)
    }
}
