import Foundation
import TernLedger
import TernMesh

extension BlobStore {
    /// The entry for a ledger row at startup, or nil when the row is unusable (a bitmap or
    /// manifest that does not decode, a complete blob whose file is gone).
    func recover(_ record: BlobRecord) throws -> BlobEntry? {
        guard let id = BlobID(hex: record.id), let kind = BlobKind(name: record.kind),
              let manifest = try? BlobManifest.decode(Array(record.manifest), expecting: id),
              let chunks = ChunkBitmap(count: manifest.chunkCount, data: record.chunkBitmap)
        else { return nil }
        var entry = BlobEntry(manifest: manifest, kind: kind, name: record.name, userPinned: record.pinned,
                              createdAt: record.createdAt, lastUsedAt: record.lastUsedAt, chunks: chunks,
                              complete: record.complete)
        if let path = record.path {
            guard record.complete, let size = record.fileSize, let modified = record.fileMtime else { return nil }
            entry.reference = (path, FileStatus(size: UInt64(size), modified: modified))
            return entry
        }
        if let status = try? FileStatus(path: completePath(id)) {
            guard status.size == manifest.size else { return nil }
            // A download is renamed only after its last chunk was synced; a crash right
            // after the rename leaves the row still saying partial.
            if !record.complete {
                entry.chunks = ChunkBitmap(count: manifest.chunkCount, full: true)
                entry.complete = true
                try ledger.updateBlobChunks(id: record.id, bitmap: entry.chunks.data, complete: true)
            }
            return entry
        }
        guard !record.complete else { return nil }
        // Resume the download; a data file that is gone or resized holds none of its chunks.
        let partial = partialPath(id)
        if (try? FileStatus(path: partial))?.size != manifest.size, entry.chunks.heldCount > 0 {
            entry.chunks = ChunkBitmap(count: manifest.chunkCount)
            try ledger.updateBlobChunks(id: record.id, bitmap: entry.chunks.data, complete: false)
        }
        let file = try BlobFile.writing(partial)
        try file.resize(to: manifest.size)
        try recoverUncommittedChunks(of: &entry, in: file)
        entry.download = file
        return entry
    }

    /// Chunks written after the last bitmap commit are usually still in the file (a killed
    /// process loses nothing the kernel already has): keep every one that verifies instead of
    /// fetching it again, and commit them. The last missing chunk is always left to fetch, so
    /// the download still completes (and is renamed) the normal way.
    private func recoverUncommittedChunks(of entry: inout BlobEntry, in file: BlobFile) throws {
        var recovered = 0
        for index in entry.chunks.missing.dropLast() {
            guard let bytes = try? file.read(entry.manifest.byteRange(ofChunk: index)),
                  entry.manifest.verify(chunk: bytes, index: index) else { continue }
            _ = entry.chunks.insert(index)
            recovered += 1
        }
        guard recovered > 0 else { return }
        try file.sync()
        try ledger.updateBlobChunks(id: entry.id.hex, bitmap: entry.chunks.data, complete: false)
    }

    /// Deletes what a crash or an outside hand left in the directory: copies being added,
    /// and blob files the ledger has no row for. Names the store never makes are left alone.
    func sweepStrayFiles(keeping entries: [BlobID: BlobEntry]) throws {
        let wanted = Set(entries.values.filter { $0.reference == nil }.map {
            $0.complete ? $0.id.hex : $0.id.hex + ".partial"
        })
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where !wanted.contains(name) {
            let idText = name.hasSuffix(".partial") ? String(name.dropLast(".partial".count)) : name
            if name.hasPrefix(Self.addingPrefix) || BlobID(hex: idText) != nil {
                try BlobFiles.remove(directory.appendingPathComponent(name).path)
            }
        }
    }
}
