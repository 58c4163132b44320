import Foundation
import TernLedger
import TernMesh

/// The store's in-memory view of one blob: everything in its ledger row, plus what only
/// this process knows (task pins, the open file of a download, chunks written since the
/// last commit).
struct BlobEntry: Sendable {
    var manifest: BlobManifest
    var kind: BlobKind
    var name: String?
    var userPinned: Bool
    /// Pins held by running tasks; they do not outlive the process.
    var taskPins = 0
    var createdAt: Date
    var lastUsedAt: Date
    /// Verified and written; may run ahead of the bitmap committed to the ledger.
    var chunks: ChunkBitmap
    var complete: Bool
    /// The file referenced in place (nil: the store's own file), and how it looked when verified.
    var reference: (path: String, status: FileStatus)?
    /// A referenced file is hashed in full once per process before it is first used (and
    /// again whenever its size or modification time changes); until then this is false.
    var referenceVerified = false
    /// The `.partial` file while downloading.
    var download: BlobFile?
    var uncommittedChunks = 0
    var lastCommit = ContinuousClock.now

    var id: BlobID { manifest.id }
    var isPinned: Bool { userPinned || taskPins > 0 }
    /// Only bytes in the store's directory count toward the quota; referenced files are the user's.
    var ownedBytes: UInt64 { reference == nil ? manifest.size : 0 }

    var info: BlobInfo {
        BlobInfo(id: id, size: manifest.size, kind: kind, name: name, pinned: isPinned, createdAt: createdAt,
                 lastUsedAt: lastUsedAt, chunkCount: manifest.chunkCount, chunksHeld: chunks.heldCount,
                 complete: complete, path: reference?.path)
    }

    var record: BlobRecord {
        BlobRecord(id: id.hex, size: Int64(manifest.size), kind: kind.name, name: name, pinned: userPinned,
                   createdAt: createdAt, lastUsedAt: lastUsedAt, manifest: Data(manifest.encoded()),
                   chunkBitmap: chunks.data, complete: complete, path: reference?.path,
                   fileSize: reference.map { Int64($0.status.size) }, fileMtime: reference?.status.modified)
    }
}
