/// A blob's content address: BLAKE2b-256 of its manifest (size, chunk size and the hash of
/// every 1 MiB chunk, see `BlobManifest`). Knowing the id is enough to verify every byte a
/// peer sends: the manifest must hash to it, and each chunk to its entry in the manifest.
public struct BlobID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public static let byteCount = 32

    public let bytes: [UInt8]

    /// Fails unless `bytes` is exactly 32 bytes long.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses 64 hex digits (either case).
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// The id of a manifest's canonical bytes.
    init(hashing manifestBytes: [UInt8]) {
        bytes = Sodium.blake2b(manifestBytes)
    }

    public var hex: String { Hex.encode(bytes) }
    /// The first 12 hex digits, for tables and logs.
    public var short: String { String(hex.prefix(12)) }
    public var description: String { short }

    public static func < (lhs: BlobID, rhs: BlobID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = BlobID(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a 64-digit blob id"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// What a blob holds; stored with it and shown in listings. The wire byte is stable.
public enum BlobKind: UInt8, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case model = 1, dataset = 2, adapter = 3, checkpoint = 4, output = 5

    public var name: String {
        switch self {
        case .model: "model"
        case .dataset: "dataset"
        case .adapter: "adapter"
        case .checkpoint: "checkpoint"
        case .output: "output"
        }
    }

    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }

    public var description: String { name }
}

/// The unit of work a job asks a peer to run. The wire byte is stable.
public enum JobKind: UInt8, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Prompt → tokens, streamed.
    case generate = 1
    /// Base model + dataset shard + input adapter + options → trained adapter (or its delta).
    case train = 2
    /// An OpenAI-style completion forwarded by a node that lacks the model, run on the
    /// holder's serving engine and streamed token by token.
    case complete = 3

    public var name: String {
        switch self {
        case .generate: "generate"
        case .train: "train"
        case .complete: "complete"
        }
    }

    public var description: String { name }
}
