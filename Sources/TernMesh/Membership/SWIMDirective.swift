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
    case invalidRecord(from: NodeID, reason: String)
}

public struct MemberChange: Equatable, Sendable {
    public let node: NodeID
    public let previous: MemberStatus?
    public let status: MemberStatus
    public let incarnation: UInt64
    public let endpoint: String
}

/// A node's full state for push-pull anti-entropy: every member it knows and the newest
/// profile of each.
public struct MembershipSnapshot: Equatable, Sendable {
    public var members: [MembershipUpdate]
    public var profiles: [SignedProfile]

    public init(members: [MembershipUpdate], profiles: [SignedProfile]) {
        self.members = members
        self.profiles = profiles
    }

    /// Canonical encoding for the TCP push-pull stream: u32 member count, members (as in
    /// gossip), u32 profile count, profiles.
    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: members.count * 64 + profiles.count * 300 + 8)
        writer.u32(UInt32(members.count))
        for member in members { member.write(to: &writer) }
        writer.u32(UInt32(profiles.count))
        for profile in profiles { profile.write(to: &writer) }
        return writer.bytes
    }

    /// `encoded().count`, without encoding.
    public var encodedSize: Int {
        4 + members.reduce(0) { $0 + $1.wireSize } + 4 + profiles.reduce(0) { $0 + $1.wireSize }
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        guard bytes.count <= WireLimits.maxSnapshotBytes else {
            throw .tooLong(field: "snapshot", length: bytes.count, limit: WireLimits.maxSnapshotBytes)
        }
        var reader = WireReader(bytes)
        let memberCount = Int(try reader.u32("snapshot member count"))
        guard memberCount <= WireLimits.maxSnapshotMembers else {
            throw .tooLong(field: "snapshot members", length: memberCount, limit: WireLimits.maxSnapshotMembers)
        }
        members = []
        for _ in 0..<memberCount { members.append(try MembershipUpdate.read(from: &reader)) }
        let profileCount = Int(try reader.u32("snapshot profile count"))
        guard profileCount <= memberCount else {
            throw .tooLong(field: "snapshot profiles", length: profileCount, limit: memberCount)
        }
        profiles = []
        for _ in 0..<profileCount { profiles.append(try SignedProfile.read(from: &reader)) }
        try reader.expectEnd()
    }
}
