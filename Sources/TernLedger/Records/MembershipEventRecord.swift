import Foundation
import GRDB

/// One observed change of a peer's membership state, kept as an append-only log so that
/// flapping peers and failure-detection latency can be inspected after the fact.
public struct MembershipEventRecord: LedgerRecord, Equatable {
    public static let databaseTableName = "membership_events"

    public var id: Int64?
    public var nodeID: String
    public var fromState: PeerState?
    public var toState: PeerState
    public var incarnation: Int64
    public var at: Date

    public init(id: Int64? = nil, nodeID: String, fromState: PeerState?, toState: PeerState, incarnation: Int64, at: Date) {
        self.id = id
        self.nodeID = nodeID
        self.fromState = fromState
        self.toState = toState
        self.incarnation = incarnation
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case id, nodeID = "nodeId", fromState, toState, incarnation, at
    }
}
