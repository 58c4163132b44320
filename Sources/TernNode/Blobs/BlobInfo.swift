import Foundation
import TernMesh

/// What the store says about one blob: listings, the control API and the CLI show this.
/// `kind` is encoded as its name (`"model"`), readable in JSON.
public struct BlobInfo: Codable, Sendable, Equatable {
    public var id: BlobID
    public var size: UInt64
    public var kind: BlobKind
    public var name: String?
    /// Pinned by the user or in use by a task: never evicted, not removable.
    public var pinned: Bool
    public var createdAt: Date
    public var lastUsedAt: Date
    public var chunkCount: Int
    public var chunksHeld: Int
    public var complete: Bool
    /// The original file of a blob referenced in place; nil when the store holds the data.
    public var path: String?

    init(id: BlobID, size: UInt64, kind: BlobKind, name: String?, pinned: Bool, createdAt: Date, lastUsedAt: Date,
         chunkCount: Int, chunksHeld: Int, complete: Bool, path: String?) {
        self.id = id
        self.size = size
        self.kind = kind
        self.name = name
        self.pinned = pinned
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.chunkCount = chunkCount
        self.chunksHeld = chunksHeld
        self.complete = complete
        self.path = path
    }

    enum CodingKeys: String, CodingKey {
        case id, size, kind, name, pinned, createdAt, lastUsedAt, chunkCount, chunksHeld, complete, path
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kindName = try container.decode(String.self, forKey: .kind)
        guard let kind = BlobKind(name: kindName) else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown blob kind '\(kindName)'")
        }
        self.init(
            id: try container.decode(BlobID.self, forKey: .id), size: try container.decode(UInt64.self, forKey: .size),
            kind: kind, name: try container.decodeIfPresent(String.self, forKey: .name),
            pinned: try container.decode(Bool.self, forKey: .pinned), createdAt: try container.decode(Date.self, forKey: .createdAt),
            lastUsedAt: try container.decode(Date.self, forKey: .lastUsedAt),
            chunkCount: try container.decode(Int.self, forKey: .chunkCount), chunksHeld: try container.decode(Int.self, forKey: .chunksHeld),
            complete: try container.decode(Bool.self, forKey: .complete), path: try container.decodeIfPresent(String.self, forKey: .path))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(size, forKey: .size)
        try container.encode(kind.name, forKey: .kind)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encode(pinned, forKey: .pinned)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(chunkCount, forKey: .chunkCount)
        try container.encode(chunksHeld, forKey: .chunksHeld)
        try container.encode(complete, forKey: .complete)
        try container.encodeIfPresent(path, forKey: .path)
    }
}
