/// A SWIM protocol message: the probe part plus piggybacked membership updates and
/// hardware profiles. It is the body of a `GossipEnvelope`.
public struct SWIMMessage: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// "Are you alive?" — answered with `ack(probe)`.
        case ping(probe: UInt32)
        /// "Please ping `target` for me" — answered with `ack(probe)` if the target answered,
        /// or `nack(probe)` if it did not (Lifeguard), so the asker can tell a dead target
        /// from its own lost packets.
        case pingRequest(probe: UInt32, target: NodeID)
        case ack(probe: UInt32)
        case nack(probe: UInt32)
    }

    public var kind: Kind
    public var updates: [MembershipUpdate]
    public var profiles: [SignedProfile]

    public init(kind: Kind, updates: [MembershipUpdate] = [], profiles: [SignedProfile] = []) {
        self.kind = kind
        self.updates = updates
        self.profiles = profiles
    }

    /// Bytes of the kind-specific header plus the two list counts.
    var headerSize: Int {
        switch kind {
        case .pingRequest: 1 + 4 + NodeID.byteCount + 4
        default: 1 + 4 + 4
        }
    }

    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: 64)
        switch kind {
        case let .ping(probe):
            writer.u8(0)
            writer.u32(probe)
        case let .pingRequest(probe, target):
            writer.u8(1)
            writer.u32(probe)
            writer.nodeID(target)
        case let .ack(probe):
            writer.u8(2)
            writer.u32(probe)
        case let .nack(probe):
            writer.u8(3)
            writer.u32(probe)
        }
        writer.count(updates.count)
        for update in updates { update.write(to: &writer) }
        writer.count(profiles.count)
        for profile in profiles { profile.write(to: &writer) }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        guard bytes.count <= GossipEnvelope.maxBodyBytes else {
            throw .tooLong(field: "SWIM message", length: bytes.count, limit: GossipEnvelope.maxBodyBytes)
        }
        var reader = WireReader(bytes)
        let tag = try reader.u8("message kind")
        let probe = try reader.u32("probe id")
        switch tag {
        case 0: kind = .ping(probe: probe)
        case 1: kind = .pingRequest(probe: probe, target: try reader.nodeID("probe target"))
        case 2: kind = .ack(probe: probe)
        case 3: kind = .nack(probe: probe)
        default: throw .invalidValue(field: "message kind", value: UInt64(tag))
        }
        updates = []
        for _ in 0..<(try reader.count("membership updates")) { updates.append(try MembershipUpdate.read(from: &reader)) }
        profiles = []
        for _ in 0..<(try reader.count("profiles")) { profiles.append(try SignedProfile.read(from: &reader)) }
        try reader.expectEnd()
    }
}
