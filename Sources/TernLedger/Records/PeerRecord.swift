import Foundation
import GRDB

/// Membership state of a peer as last seen by this node (SWIM states plus a graceful leave).
public enum PeerState: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case alive, suspect, dead, left
}

/// A peer this node knows about. `nodeID` is the peer's Ed25519 public key in lowercase hex.
public struct PeerRecord: LedgerRecord, Equatable {
    public static let databaseTableName = "peers"

    public var nodeID: String
    public var address: String
    public var fingerprint: String
    public var firstSeen: Date
    public var lastSeen: Date
    public var state: PeerState
    public var incarnation: Int64
    public var score: Double

    public init(
        nodeID: String, address: String, fingerprint: String, firstSeen: Date, lastSeen: Date,
        state: PeerState, incarnation: Int64, score: Double = 0
    ) {
        self.nodeID = nodeID
        self.address = address
        self.fingerprint = fingerprint
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.state = state
        self.incarnation = incarnation
        self.score = score
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "nodeId", address, fingerprint, firstSeen, lastSeen, state, incarnation, score
    }
}
