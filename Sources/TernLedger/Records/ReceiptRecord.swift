import Foundation
import GRDB

/// A job receipt as the ledger keeps it: the exact signed bytes (`SignedReceipt.encoded()`,
/// so it can be re-verified and re-sent) plus the decoded columns that queries and
/// `tern ledger receipts` use. Ids are lowercase hex.
public struct ReceiptRecord: LedgerRecord, Equatable {
    public static let databaseTableName = "receipts"

    public var jobID: String
    /// `JobKind.name`: "generate", "train".
    public var kind: String
    public var workerNodeID: String
    public var requesterNodeID: String
    public var outputBlobID: String?
    public var tokens: Int64
    public var wallMillis: Int64
    public var signedBytes: Data
    public var workerSignature: Data
    /// Present once the requester has countersigned.
    public var requesterSignature: Data?
    /// Whether the requester accepted the result and the worker was credited for it.
    public var accepted: Bool
    public var createdAt: Date
    /// Why the requester took the credit back after accepting (nil: it stands).
    public var revokedReason: String?

    public init(jobID: String, kind: String, workerNodeID: String, requesterNodeID: String, outputBlobID: String?,
                tokens: Int64, wallMillis: Int64, signedBytes: Data, workerSignature: Data, requesterSignature: Data?,
                accepted: Bool = false, createdAt: Date) {
        self.jobID = jobID
        self.kind = kind
        self.workerNodeID = workerNodeID
        self.requesterNodeID = requesterNodeID
        self.outputBlobID = outputBlobID
        self.tokens = tokens
        self.wallMillis = wallMillis
        self.signedBytes = signedBytes
        self.workerSignature = workerSignature
        self.requesterSignature = requesterSignature
        self.accepted = accepted
        self.createdAt = createdAt
    }

    public var isCountersigned: Bool { requesterSignature != nil }

    enum CodingKeys: String, CodingKey {
        case jobID = "jobId", kind, workerNodeID = "workerNodeId", requesterNodeID = "requesterNodeId"
        case outputBlobID = "outputBlobId", tokens, wallMillis, signedBytes, workerSignature, requesterSignature
        case accepted, createdAt, revokedReason
    }
}
