/// A member's state as SWIM sees it.
public enum MemberStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case alive = 0, suspect = 1, dead = 2, left = 3

    /// Members in these states are probed and counted in the group size.
    public var isLive: Bool { self == .alive || self == .suspect }

    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "dead"
        case .left: "left"
        }
    }
}

/// One membership fact, gossiped and merged: "`node` is `status` at `incarnation`".
/// Alive updates carry the node's endpoint (how to reach it); suspect updates name the
/// node that suspects, so independent suspicions can be counted (Lifeguard).
public struct MembershipUpdate: Equatable, Sendable {
    public let node: NodeID
    public let status: MemberStatus
    public let incarnation: UInt64
    public let endpoint: String
    public let suspecter: NodeID?

    public static func alive(_ node: NodeID, incarnation: UInt64, endpoint: String) -> MembershipUpdate {
        MembershipUpdate(node: node, status: .alive, incarnation: incarnation, endpoint: endpoint, suspecter: nil)
    }

    public static func suspect(_ node: NodeID, incarnation: UInt64, by suspecter: NodeID) -> MembershipUpdate {
        MembershipUpdate(node: node, status: .suspect, incarnation: incarnation, endpoint: "", suspecter: suspecter)
    }

    public static func dead(_ node: NodeID, incarnation: UInt64) -> MembershipUpdate {
        MembershipUpdate(node: node, status: .dead, incarnation: incarnation, endpoint: "", suspecter: nil)
    }

    public static func left(_ node: NodeID, incarnation: UInt64) -> MembershipUpdate {
        MembershipUpdate(node: node, status: .left, incarnation: incarnation, endpoint: "", suspecter: nil)
    }

    /// Encoded size in bytes.
    public var wireSize: Int {
        switch status {
        case .alive: 1 + NodeID.byteCount + 8 + 1 + endpoint.utf8.count
        case .suspect: 1 + NodeID.byteCount + 8 + NodeID.byteCount
        case .dead, .left: 1 + NodeID.byteCount + 8
        }
    }

    func write(to writer: inout WireWriter) {
        writer.u8(status.rawValue)
        writer.nodeID(node)
        writer.u64(incarnation)
        switch status {
        case .alive: writer.string(endpoint)
        case .suspect: writer.nodeID(suspecter!)
        case .dead, .left: break
        }
    }

    static func read(from reader: inout WireReader) throws(WireError) -> MembershipUpdate {
        let rawStatus = try reader.u8("member status")
        guard let status = MemberStatus(rawValue: rawStatus) else {
            throw .invalidValue(field: "member status", value: UInt64(rawStatus))
        }
        let node = try reader.nodeID("member id")
        let incarnation = try reader.u64("incarnation")
        switch status {
        case .alive: return .alive(node, incarnation: incarnation, endpoint: try reader.string("endpoint"))
        case .suspect: return .suspect(node, incarnation: incarnation, by: try reader.nodeID("suspecter"))
        case .dead: return .dead(node, incarnation: incarnation)
        case .left: return .left(node, incarnation: incarnation)
        }
    }
}
