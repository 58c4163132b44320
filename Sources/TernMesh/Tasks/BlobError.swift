/// Why a blob could not be decoded, stored, served or handed out. Manifest errors come from
/// bytes a peer sent; the rest from the node's own blob store.
public enum BlobError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The manifest bytes are not a well-formed version-1 manifest.
    case malformedManifest(String)
    /// A peer answered a request for `expected` with a manifest that hashes to `found`.
    case manifestMismatch(expected: BlobID, found: BlobID)
    case tooLarge(size: UInt64, limit: UInt64)
    /// A chunk of more bytes than the manifest announces for its index.
    case chunkTooLarge(index: Int, length: Int, limit: Int)
    case unknownBlob(BlobID)
    /// The blob is still downloading: it has no file to hand out yet.
    case incomplete(BlobID)
    /// The chunk is not (yet) verified and on disk, so it cannot be served.
    case chunkNotHeld(BlobID, index: Int)
    case quotaExceeded(needed: UInt64, available: UInt64, quota: UInt64)
    /// A pinned blob (held by a task or by the user) cannot be removed.
    case inUse(BlobID)
    /// A file referenced in place no longer has the content it was added with.
    case fileChanged(path: String)
    /// A file given as a model is not a GGUF model.
    case notAModel(path: String, reason: String)
    /// A file operation failed; `reason` names the operation and the system's error.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .malformedManifest(reason):
            "malformed blob manifest: \(reason)"
        case let .manifestMismatch(expected, found):
            "manifest for blob \(expected.hex) hashes to \(found.hex)"
        case let .tooLarge(size, limit):
            "blob of \(size) bytes exceeds the \(limit)-byte limit"
        case let .chunkTooLarge(index, length, limit):
            "chunk \(index) is \(length) bytes, more than the \(limit) its manifest announces"
        case let .unknownBlob(id):
            "no blob \(id.hex) in the store"
        case let .incomplete(id):
            "blob \(id.hex) is not completely downloaded"
        case let .chunkNotHeld(id, index):
            "chunk \(index) of blob \(id.hex) is not held"
        case let .quotaExceeded(needed, available, quota):
            "blob store quota exceeded: \(needed) bytes needed, \(available) of \(quota) can be made free"
        case let .inUse(id):
            "blob \(id.hex) is pinned (in use); unpin it first"
        case let .fileChanged(path):
            "\(path) changed since it was added to the blob store; add it again"
        case let .notAModel(path, reason):
            "\(path) is not a GGUF model: \(reason)"
        case let .io(path, reason):
            "\(path): \(reason)"
        }
    }
}
