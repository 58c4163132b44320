/// What the shell around a `SWIMInstance` must do after an event.
public enum SWIMDirective: Equatable, Sendable {
    /// Encode `message`, seal it in an envelope and send it to `to`.
    case send(SWIMMessage, to: NodeID)
    /// This node's view of a member changed (`previous` is nil for a newly learned member).
    case memberChanged(MemberChange)
    /// A newer hardware profile was accepted for `profile.nodeID`.
    case profileLearned(SignedProfile)
    /// Time for push-pull anti-entropy: exchange full snapshots with `peer` over TCP.
    case pushPull(with: NodeID, endpoint: String)
    /// `peer` sent a record that failed validation (feed it to the peer's score).
    case invalidRecord(from: NodeID, reason: RecordRejection)
}

public struct MemberChange: Equatable, Sendable {
    public let node: NodeID
    public let previous: MemberStatus?
    public let status: MemberStatus
    public let incarnation: UInt64
    public let endpoint: String
}

