/// A node's full state for push-pull anti-entropy: the records of every member it knows
/// and the newest profile of each live member.
///
/// On the wire a snapshot is a series of fragments, each small enough for one stream frame
/// (`fragments(maxBytes:)`), so a large mesh's table never hits the frame limit. Inside a
/// fragment every entry is length-prefixed: a receiver skips an entry it cannot parse and
/// keeps the rest, so one bad record cannot switch push-pull off.
public struct MembershipSnapshot: Equatable, Sendable {
    public var members: [MembershipUpdate]
    public var profiles: [SignedProfile]

    public init(members: [MembershipUpdate] = [], profiles: [SignedProfile] = []) {
        self.members = members
        self.profiles = profiles
    }

    /// Largest fragment `fragments` makes by default (well under a stream frame's 4 MiB).
    public static let defaultFragmentBytes = 256 << 10
    /// Entries one fragment may announce (bounds what a decoder reserves).
    public static let maxEntriesPerFragment = 1 << 16

    /// The snapshot as fragments of at most `maxBytes` bytes each (at least one, which may
    /// be empty). Fragment layout: `u32` member count, each member as a `blob`, `u32`
    /// profile count, each profile as a `blob` (see docs/protocol.md §6).
    public func fragments(maxBytes: Int = defaultFragmentBytes) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var members: [[UInt8]] = [], profiles: [[UInt8]] = [], size = 8
        func flush() {
            var writer = WireWriter(capacity: size)
            writer.u32(UInt32(members.count))
            for entry in members { writer.blob(entry) }
            writer.u32(UInt32(profiles.count))
            for entry in profiles { writer.blob(entry) }
            out.append(writer.bytes)
            (members, profiles, size) = ([], [], 8)
        }
        for member in self.members {
            var writer = WireWriter(capacity: member.wireSize)
            member.write(to: &writer)
            if size + 2 + writer.bytes.count > maxBytes || members.count == Self.maxEntriesPerFragment { flush() }
            members.append(writer.bytes)
            size += 2 + writer.bytes.count
        }
        for profile in self.profiles {
            var writer = WireWriter(capacity: profile.wireSize)
            profile.write(to: &writer)
            if size + 2 + writer.bytes.count > maxBytes || profiles.count == Self.maxEntriesPerFragment { flush() }
            profiles.append(writer.bytes)
            size += 2 + writer.bytes.count
        }
        if !members.isEmpty || !profiles.isEmpty || out.isEmpty { flush() }
        return out
    }

    /// One decoded fragment and how many of its entries could not be parsed.
    public struct Fragment: Equatable, Sendable {
        public var snapshot: MembershipSnapshot
        public var skippedEntries: Int
    }

    /// Decodes one fragment. Entries that do not parse are skipped and counted; a fragment
    /// whose framing is broken (counts over the limits, lengths past the end, trailing
    /// bytes) throws.
    public static func decodeFragment(_ bytes: [UInt8]) throws(WireError) -> Fragment {
        var reader = WireReader(bytes)
        var snapshot = MembershipSnapshot()
        var skipped = 0
        let memberCount = Int(try reader.u32("snapshot member count"))
        guard memberCount <= maxEntriesPerFragment, memberCount * 2 <= reader.remaining else {
            throw .tooLong(field: "snapshot members", length: memberCount, limit: min(maxEntriesPerFragment, reader.remaining / 2))
        }
        for _ in 0..<memberCount {
            let entry = try reader.blob("snapshot member", maxBytes: Int(UInt16.max))
            var inner = WireReader(entry)
            if let member = try? MembershipUpdate.read(from: &inner), inner.remaining == 0 {
                snapshot.members.append(member)
            } else {
                skipped += 1
            }
        }
        let profileCount = Int(try reader.u32("snapshot profile count"))
        guard profileCount <= maxEntriesPerFragment, profileCount * 2 <= reader.remaining else {
            throw .tooLong(field: "snapshot profiles", length: profileCount, limit: min(maxEntriesPerFragment, reader.remaining / 2))
        }
        for _ in 0..<profileCount {
            let entry = try reader.blob("snapshot profile", maxBytes: Int(UInt16.max))
            var inner = WireReader(entry)
            if let profile = try? SignedProfile.read(from: &inner), inner.remaining == 0 {
                snapshot.profiles.append(profile)
            } else {
                skipped += 1
            }
        }
        try reader.expectEnd()
        return Fragment(snapshot: snapshot, skippedEntries: skipped)
    }

    /// Bytes all fragments take (for the simulator's accounting), without encoding.
    public var encodedSize: Int {
        8 + members.reduce(0) { $0 + 2 + $1.wireSize } + profiles.reduce(0) { $0 + 2 + $1.wireSize }
    }
}
