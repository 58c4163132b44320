import Foundation
import Synchronization
import TernLedger
import TernMesh

/// The node's content-addressed blobs on disk: models, datasets, adapters, checkpoints and
/// job outputs, whole or still downloading.
///
/// Layout of `directory`: `<hex id>` is a complete blob, `<hex id>.partial` a download
/// (sized up front, chunks written where they belong), `.adding-*` a copy being hashed in.
/// A blob may instead be a file referenced in place (a model added without copying); the
/// store never writes or deletes such a file, and hashes it again whenever its size or
/// modification time changed.
///
/// Every chunk is verified before it is written, so a store-owned file is never hashed again
/// when served. The ledger's bitmap says which chunks of a download are on disk; it is
/// committed (after an fsync of the data) every `commitEveryChunks` chunks or
/// `commitInterval`, not per chunk, which would cost an fsync'd transaction per megabyte. A
/// chunk written but not yet committed is kept after a crash if it still verifies (the
/// kernel keeps a killed process's writes), and fetched again otherwise (power loss).
///
/// The quota counts store-owned bytes only (complete blobs and the full size of downloads);
/// referenced files are the user's. Making room evicts the least recently used complete,
/// unpinned blobs.
///
/// Thread-safe: `state` guards the in-memory index; `changes` serializes every change to
/// files and ledger rows (adding, removing, committing, evicting); chunk reads and writes
/// happen outside both.
public final class BlobStore: Sendable {
    public static let defaultCommitEveryChunks = 256
    public static let commitInterval = Duration.seconds(2)

    public let directory: URL
    /// Chunks written between bitmap commits (each commit syncs the data first).
    public let commitEveryChunks: Int
    public let quotaBytes: UInt64
    let ledger: Ledger
    let state = Mutex<[BlobID: BlobEntry]>([:])
    let changes = NSLock()
    /// Serializes re-hashing referenced files that changed, so concurrent readers hash once.
    let reverifying = NSLock()

    /// Opens the store in `directory` (created with mode 0700), loading its index from
    /// `ledger`. A download interrupted by a crash resumes with its committed chunks and
    /// those written since that still verify; files without a row, and rows whose file is
    /// gone, are dropped.
    public init(directory: URL, ledger: Ledger, quotaBytes: UInt64,
                commitEveryChunks: Int = BlobStore.defaultCommitEveryChunks) throws {
        self.directory = directory
        self.commitEveryChunks = max(1, commitEveryChunks)
        self.ledger = ledger
        self.quotaBytes = quotaBytes
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var entries: [BlobID: BlobEntry] = [:]
        for record in try ledger.blobs() {
            if let entry = try recover(record) {
                entries[entry.id] = entry
            } else {
                try ledger.deleteBlob(id: record.id)
            }
        }
        try sweepStrayFiles(keeping: entries)
        state.withLock { $0 = entries }
    }

    // MARK: Looking up

    public func info(_ id: BlobID) -> BlobInfo? {
        state.withLock { $0[id]?.info }
    }

    /// Every blob, oldest first.
    public func list() -> [BlobInfo] {
        state.withLock { entries in
            entries.values.map(\.info).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }

    public func manifest(_ id: BlobID) -> BlobManifest? {
        state.withLock { $0[id]?.manifest }
    }

    /// Store-owned bytes, complete or reserved by downloads.
    public var usedBytes: UInt64 {
        state.withLock { $0.values.reduce(0) { $0 + $1.ownedBytes } }
    }

    // MARK: Serving and using

    /// The bytes of a verified chunk, for serving peers: only chunks in the bitmap, never a
    /// half-written one. Store-owned data is served as written (it was verified then). A
    /// referenced file is hashed in full when first used by this process ("verify on open")
    /// and again whenever its size or modification time changes; between those, chunks are
    /// served as read, like the store's own (hashing every chunk again would halve serving
    /// speed, and a receiver verifies every chunk anyway). Serving does not count as use for
    /// eviction.
    public func readChunk(_ id: BlobID, index: Int) throws -> [UInt8] {
        let (manifest, download, reference) = try state.withLock { entries in
            guard let entry = entries[id] else { throw BlobError.unknownBlob(id) }
            guard index >= 0, index < entry.manifest.chunkCount, entry.chunks[index] else {
                throw BlobError.chunkNotHeld(id, index: index)
            }
            return (entry.manifest, entry.download, entry.reference?.path)
        }
        let range = manifest.byteRange(ofChunk: index)
        if let reference {
            try reverifyIfChanged(id)
            return try BlobFile.reading(reference).read(range)
        }
        return try (download ?? BlobFile.reading(completePath(id))).read(range)
    }

    /// The file holding a complete blob (its store file or the referenced original), for
    /// loading a model. Counts as use: the blob becomes the last to be evicted.
    public func path(of id: BlobID) throws -> String {
        let (complete, reference) = try state.withLock { entries in
            guard let entry = entries[id] else { throw BlobError.unknownBlob(id) }
            return (entry.complete, entry.reference?.path)
        }
        guard complete else { throw BlobError.incomplete(id) }
        if reference != nil { try reverifyIfChanged(id) }
        try touch(id)
        return reference ?? completePath(id)
    }

    /// Copies a complete blob to `path` (replacing a file there), through a temporary file
    /// beside it so a failed export leaves nothing half-written.
    public func export(_ id: BlobID, to path: String) throws {
        let source = try self.path(of: id)
        guard let manifest = manifest(id) else { throw BlobError.unknownBlob(id) }
        let verifyChunks = info(id)?.path != nil
        let temporary = path + ".tern-export"
        do {
            let input = try BlobFile.reading(source)
            let output = try BlobFile.writing(temporary, truncate: true)
            for index in 0..<manifest.chunkCount {
                let bytes = try input.read(manifest.byteRange(ofChunk: index))
                if verifyChunks, !manifest.verify(chunk: bytes, index: index) { throw BlobError.fileChanged(path: source) }
                try bytes.withUnsafeBytes { try output.write($0, at: manifest.byteRange(ofChunk: index).lowerBound) }
            }
            try output.sync()
            try BlobFiles.move(temporary, to: path)
        } catch {
            try? BlobFiles.remove(temporary)
            throw error
        }
    }

    // MARK: Pins and removal

    /// Counted pins, held by running tasks (not persisted): a pinned blob is never evicted or removed.
    public func pin(_ id: BlobID) throws {
        try state.withLock { entries in
            guard entries[id] != nil else { throw BlobError.unknownBlob(id) }
            entries[id]!.taskPins += 1
        }
    }

    public func unpin(_ id: BlobID) {
        state.withLock { entries in
            if let pins = entries[id]?.taskPins, pins > 0 { entries[id]!.taskPins = pins - 1 }
        }
    }

    /// The user's pin (`tern blob pin`), kept in the ledger across restarts.
    public func setPinned(_ id: BlobID, _ pinned: Bool) throws {
        try changes.withLock {
            guard state.withLock({ $0[id] != nil }) else { throw BlobError.unknownBlob(id) }
            try ledger.setBlobPinned(id: id.hex, pinned)
            state.withLock { $0[id]?.userPinned = pinned }
        }
    }

    /// Deletes a blob's row and its store file (never a referenced original). A pinned blob
    /// is refused with `BlobError.inUse`.
    public func remove(_ id: BlobID) throws {
        try changes.withLock {
            let entry = try state.withLock { entries in
                guard let entry = entries[id] else { throw BlobError.unknownBlob(id) }
                guard !entry.isPinned else { throw BlobError.inUse(id) }
                entries[id] = nil
                return entry
            }
            do {
                try ledger.deleteBlob(id: id.hex)
            } catch {
                state.withLock { $0[id] = entry }
                throw error
            }
            try deleteStoreFile(of: entry)
        }
    }

    // MARK: Internals shared by the extensions

    func completePath(_ id: BlobID) -> String { directory.appendingPathComponent(id.hex).path }
    func partialPath(_ id: BlobID) -> String { directory.appendingPathComponent(id.hex + ".partial").path }

    func deleteStoreFile(of entry: BlobEntry) throws {
        guard entry.reference == nil else { return }
        try BlobFiles.remove(entry.complete ? completePath(entry.id) : partialPath(entry.id))
    }

    func touch(_ id: BlobID) throws {
        let now = Date()
        try ledger.touchBlob(id: id.hex, at: now)
        state.withLock { $0[id]?.lastUsedAt = now }
    }

    /// Re-hashes a referenced file whose size or modification time differs from when it was
    /// last verified; throws `fileChanged` unless its content is still the blob's.
    func reverifyIfChanged(_ id: BlobID) throws {
        try reverifying.withLock {
            guard let (reference, verified) = state.withLock({ entries in
                entries[id].flatMap { entry in entry.reference.map { ($0, entry.referenceVerified) } }
            }) else { throw BlobError.unknownBlob(id) }
            guard let now = try? FileStatus(path: reference.path) else { throw BlobError.fileChanged(path: reference.path) }
            guard now != reference.status || !verified else { return }
            let content = try? BlobManifest.hashing(fileAt: reference.path)
            // A file still being written would hash to something else, or change status meanwhile.
            guard content?.id == id, (try? FileStatus(path: reference.path)) == now else {
                throw BlobError.fileChanged(path: reference.path)
            }
            try ledger.updateBlobFile(id: id.hex, fileSize: Int64(now.size), fileMtime: now.modified)
            state.withLock {
                $0[id]?.reference?.status = now
                $0[id]?.referenceVerified = true
            }
        }
    }

    /// Under `changes`: makes room for `needed` more store-owned bytes by evicting the least
    /// recently used complete, unpinned blobs (with `evicting` false, only checks that it
    /// could). Throws `quotaExceeded`, evicting nothing, when even evicting all of them would
    /// not make enough room.
    func makeRoom(for needed: UInt64, evicting: Bool) throws {
        let victims = try state.withLock { entries -> [BlobEntry] in
            let used = entries.values.reduce(0) { $0 + $1.ownedBytes }
            guard used + needed > quotaBytes else { return [] }
            let evictable = entries.values
                .filter { $0.reference == nil && $0.complete && !$0.isPinned }
                .sorted { ($0.lastUsedAt, $0.id) < ($1.lastUsedAt, $1.id) }
            var remaining = used
            var chosen: [BlobEntry] = []
            for candidate in evictable where remaining + needed > quotaBytes {
                chosen.append(candidate)
                remaining -= candidate.manifest.size
            }
            guard remaining + needed <= quotaBytes else {
                let available = quotaBytes > remaining ? quotaBytes - remaining : 0
                throw BlobError.quotaExceeded(needed: needed, available: available, quota: quotaBytes)
            }
            guard evicting else { return [] }
            for victim in chosen { entries[victim.id] = nil }
            return chosen
        }
        for victim in victims {
            try ledger.deleteBlob(id: victim.id.hex)
            try deleteStoreFile(of: victim)
        }
    }
}
