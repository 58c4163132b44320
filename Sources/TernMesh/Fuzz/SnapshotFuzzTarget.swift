/// `tern fuzz snapshot`: push-pull stream frames through `MembershipSnapshot.decodeFragment`.
///
/// Invariants: a fragment decoded without skipping an entry re-encodes to exactly the input;
/// one with skipped entries re-encodes to a fragment that decodes to the same snapshot with
/// nothing skipped (the unreadable entries are dropped, the rest kept as they were).
public struct SnapshotFuzzTarget: FuzzTarget {
    public let name = "snapshot"
    public let samples: [[UInt8]]

    public init() {
        samples = MeshFuzzSamples.snapshotFragments
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        let fragment: MembershipSnapshot.Fragment
        do {
            fragment = try MembershipSnapshot.decodeFragment(input)
        } catch {
            return .rejected(error.fuzzLabel)
        }
        let reencoded = fragment.snapshot.fragments(maxBytes: .max)
        if fragment.skippedEntries == 0 {
            guard reencoded == [input] else { return .violation("a decoded fragment does not re-encode to its input") }
            return .accepted("whole")
        }
        guard reencoded.count == 1, let again = try? MembershipSnapshot.decodeFragment(reencoded[0]),
              again.skippedEntries == 0, again.snapshot == fragment.snapshot else {
            return .violation("the readable entries of a fragment do not survive re-encoding")
        }
        return .accepted("entriesSkipped")
    }
}
