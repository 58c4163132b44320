import TernMesh

/// Every fuzz target, by the name `tern fuzz` takes: one per decoder that reads bytes from
/// the network or a file (docs/design.md §8). The CLI and the fuzz test suite both list
/// targets from here, so a target added here is tested and runnable at once.
public enum FuzzCatalog {
    public struct Entry: Sendable {
        public let name: String
        /// One line for `tern fuzz --help`: which decoder, fed what.
        public let summary: String
        public let make: @Sendable () throws -> any FuzzTarget
    }

    public static let entries: [Entry] = [
        Entry(name: "envelope", summary: "gossip datagrams: GossipEnvelope.parse and EnvelopeVerifier (signature, clock, replay)",
              make: { EnvelopeFuzzTarget() }),
        Entry(name: "swim-message", summary: "envelope bodies: SWIMMessage(decoding:) with piggybacked records and profiles",
              make: { SWIMMessageFuzzTarget() }),
        Entry(name: "snapshot", summary: "push-pull frames: MembershipSnapshot.decodeFragment",
              make: { SnapshotFuzzTarget() }),
        Entry(name: "profile", summary: "hardware profiles: HardwareProfile(decoding:) and SignedProfile signature checks",
              make: { ProfileFuzzTarget() }),
        Entry(name: "handshake", summary: "a new TCP stream: frame decoder, secure handshake hello and auth, encrypted frames",
              make: { HandshakeFuzzTarget() }),
        Entry(name: "control", summary: "control API JSON (join body, replies) and the node's JSON files",
              make: { try ControlFuzzTarget() }),
        Entry(name: "gguf", summary: "model files: GGUFFile(bytes:), ModelSummary and the tokenizer",
              make: { try ModelFileFuzzTarget() }),
    ]

    public static var names: [String] { entries.map(\.name) }

    public static func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
}
