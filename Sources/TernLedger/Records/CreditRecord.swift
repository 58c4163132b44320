import Foundation
import GRDB

/// One node's running totals as this node recorded them: jobs it ran that were accepted
/// (with their tokens and wall time) and jobs that were rejected. What `tern ledger credits`
/// shows, and what scheduling can weigh.
public struct CreditRecord: LedgerRecord, Equatable {
    public static let databaseTableName = "credits"

    public var nodeID: String
    public var jobsAccepted: Int64
    public var jobsRejected: Int64
    public var tokensAccepted: Int64
    public var wallMillisAccepted: Int64
    /// Accepted jobs whose credit was taken back (they are no longer in the accepted totals).
    public var jobsRevoked: Int64
    public var updatedAt: Date

    public init(nodeID: String, jobsAccepted: Int64 = 0, jobsRejected: Int64 = 0, tokensAccepted: Int64 = 0,
                wallMillisAccepted: Int64 = 0, jobsRevoked: Int64 = 0, updatedAt: Date) {
        self.nodeID = nodeID
        self.jobsAccepted = jobsAccepted
        self.jobsRejected = jobsRejected
        self.tokensAccepted = tokensAccepted
        self.wallMillisAccepted = wallMillisAccepted
        self.jobsRevoked = jobsRevoked
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "nodeId", jobsAccepted, jobsRejected, tokensAccepted, wallMillisAccepted, jobsRevoked, updatedAt
    }
}
