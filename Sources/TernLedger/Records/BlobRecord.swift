import Foundation
import GRDB

/// A blob the node's store holds, whole or in part (see `LedgerSchema.createBlobTables`).
/// Ids and kinds are text here; the blob store maps them to its own types.
public struct BlobRecord: LedgerRecord, Equatable {
    public static let databaseTableName = "blobs"

    /// The blob id, 64 lowercase hex digits.
    public var id: String
    public var size: Int64
    /// `model`, `dataset`, `adapter`, `checkpoint` or `output`.
    public var kind: String
    public var name: String?
    /// Pinned by the user: never evicted, not removable until unpinned.
    public var pinned: Bool
    public var createdAt: Date
    public var lastUsedAt: Date
    /// The canonical manifest bytes.
    public var manifest: Data
    /// Bit i (of byte i/8, least significant first) set: chunk i is verified and on disk.
    public var chunkBitmap: Data
    public var complete: Bool
    /// A file referenced in place; nil when the data lives in the store's directory.
    public var path: String?
    public var fileSize: Int64?
    /// Nanoseconds since 1970: whole-second timestamps would miss a quick rewrite.
    public var fileMtime: Int64?

    public init(
        id: String, size: Int64, kind: String, name: String?, pinned: Bool, createdAt: Date, lastUsedAt: Date,
        manifest: Data, chunkBitmap: Data, complete: Bool, path: String? = nil, fileSize: Int64? = nil, fileMtime: Int64? = nil
    ) {
        self.id = id
        self.size = size
        self.kind = kind
        self.name = name
        self.pinned = pinned
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.manifest = manifest
        self.chunkBitmap = chunkBitmap
        self.complete = complete
        self.path = path
        self.fileSize = fileSize
        self.fileMtime = fileMtime
    }
}
