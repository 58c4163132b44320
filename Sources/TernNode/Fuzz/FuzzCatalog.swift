import TernMesh

/// Every fuzz target, by the name `tern fuzz` takes: one per decoder that reads bytes from
/// the network or a file (docs/design.md §8). The CLI and the fuzz test suite both list
/// targets from here, so a target added here is tested and runnable at once.
public enum FuzzCatalog {
    public struct Entry: Sendable {
        public let name: String
        /// One short line for `tern fuzz --help` (under 64 characters): which decoder, fed what.
        public let summary: String
        public let make: @Sendable () throws -> any FuzzTarget
    }

    public static let entries: [Entry] = [
        Entry(name: "envelope", summary: "gossip datagrams: GossipEnvelope.parse, EnvelopeVerifier",
              make: { EnvelopeFuzzTarget() }),
        Entry(name: "swim-message", summary: "envelope bodies: SWIMMessage(decoding:), records, profiles",
              make: { SWIMMessageFuzzTarget() }),
        Entry(name: "snapshot", summary: "push-pull frames: MembershipSnapshot.decodeFragment",
              make: { SnapshotFuzzTarget() }),
        Entry(name: "blob-manifest", summary: "blob manifests from peers: BlobManifest.decode",
              make: { BlobManifestFuzzTarget() }),
        Entry(name: "profile", summary: "HardwareProfile(decoding:), SignedProfile signatures",
              make: { ProfileFuzzTarget() }),
        Entry(name: "receipt", summary: "job receipts: SignedReceipt.decode, JobReceipt.decode",
              make: { ReceiptFuzzTarget() }),
        Entry(name: "handshake", summary: "new TCP streams: framing, handshake hello and auth, frames",
              make: { HandshakeFuzzTarget() }),
        Entry(name: "task-stream", summary: "task/1 and blob/1 frames: requests, replies, options",
              make: { TaskStreamFuzzTarget() }),
        Entry(name: "train-options", summary: "train job options from a requester: TrainJobOptions",
              make: { TrainOptionsFuzzTarget() }),
        Entry(name: "train-result", summary: "adapters workers return: LoRAAdapterFile, parameter hash",
              make: { try TrainResultFuzzTarget() }),
        Entry(name: "control", summary: "control API JSON bodies and the node's JSON files",
              make: { try ControlFuzzTarget() }),
        Entry(name: "openai-request", summary: "API request bodies: JSON, Plan, forwarded job options",
              make: { OpenAIRequestFuzzTarget() }),
        Entry(name: "event-stream", summary: "SSE bodies read by --node clients: ServerSentEventParser",
              make: { EventStreamFuzzTarget() }),
        Entry(name: "gguf", summary: "model files: GGUFFile(bytes:), ModelSummary, tokenizer",
              make: { try ModelFileFuzzTarget() }),
    ]

    public static var names: [String] { entries.map(\.name) }

    public static func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
}
