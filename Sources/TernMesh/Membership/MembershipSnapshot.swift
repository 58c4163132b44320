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
        // lists[0]: member records, lists[1]: profiles, each entry encoded.
        var lists: [[[UInt8]]] = [[], []], size = 8
        func flush() {
            var writer = WireWriter(capacity: size)
            for list in lists {
                writer.u32(UInt32(list.count))
                for entry in list { writer.blob(entry) }
            }
            out.append(writer.bytes)
            (lists, size) = ([[], []], 8)
        }
        func add(_ entry: [UInt8], to list: Int) {
            if size + 2 + entry.count > maxBytes || lists[list].count == Self.maxEntriesPerFragment { flush() }
            lists[list].append(entry)
            size += 2 + entry.count
        }
        for member in members {
            var writer = WireWriter(capacity: member.wireSize)
            member.write(to: &writer)
            add(writer.bytes, to: 0)
        }
        for profile in profiles {
            var writer = WireWriter(capacity: profile.wireSize)
            profile.write(to: &writer)
            add(writer.bytes, to: 1)
        }
        if lists.contains(where: { !$0.isEmpty }) || out.isEmpty { flush() }
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
        var skipped = 0
        let members = try entries(&reader, "snapshot members", skipped: &skipped) { (inner: inout WireReader) throws(WireError) in
            try MembershipUpdate.read(from: &inner)
        }
        let profiles = try entries(&reader, "snapshot profiles", skipped: &skipped) { (inner: inout WireReader) throws(WireError) in
            try SignedProfile.read(from: &inner)
        }
        try reader.expectEnd()
        return Fragment(snapshot: MembershipSnapshot(members: members, profiles: profiles), skippedEntries: skipped)
    }

    /// A `u32` count, then that many length-prefixed entries; an entry `parse` rejects (or
    /// leaves bytes of) is skipped and counted in `skipped`. The count is checked against
    /// what the remaining bytes could hold before anything is reserved.
    private static func entries<Entry>(_ reader: inout WireReader, _ field: String, skipped: inout Int,
                                       _ parse: (inout WireReader) throws(WireError) -> Entry) throws(WireError) -> [Entry] {
        let count = Int(try reader.u32(field + " count"))
        guard count <= maxEntriesPerFragment, count * 2 <= reader.remaining else {
            throw .tooLong(field: field, length: count, limit: min(maxEntriesPerFragment, reader.remaining / 2))
        }
        var out: [Entry] = []
        for _ in 0..<count {
            var inner = WireReader(try reader.blob(field, maxBytes: Int(UInt16.max)))
            if let entry = try? parse(&inner), inner.remaining == 0 {
                out.append(entry)
            } else {
                skipped += 1
            }
        }
        return out
    }

    /// Bytes all fragments take (for the simulator's accounting), without encoding.
    public var encodedSize: Int {
        8 + members.reduce(0) { $0 + 2 + $1.wireSize } + profiles.reduce(0) { $0 + 2 + $1.wireSize }
    }
}
