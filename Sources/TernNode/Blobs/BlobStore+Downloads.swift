import Foundation
import TernLedger
import TernMesh

extension BlobStore {
    /// Starts a download, or returns the blob as it stands when the store already has it
    /// (a partial one resumes). Records the manifest and reserves the blob's full size,
    /// evicting least recently used blobs if needed; throws `quotaExceeded` when it cannot fit.
    public func beginDownload(_ manifest: BlobManifest, kind: BlobKind, name: String?) throws -> BlobInfo {
        let id = manifest.id
        let started = try changes.withLock { () -> BlobInfo? in
            if let held = state.withLock({ $0[id]?.info }) { return held }
            try makeRoom(for: manifest.size, evicting: true)
            let file = try BlobFile.writing(partialPath(id), truncate: true)
            try file.resize(to: manifest.size)
            let now = Date()
            let entry = BlobEntry(manifest: manifest, kind: kind, name: name, userPinned: false, createdAt: now, lastUsedAt: now,
                                  chunks: ChunkBitmap(count: manifest.chunkCount), complete: false, download: file)
            try ledger.saveBlob(entry.record)
            state.withLock { $0[id] = entry }
            return nil
        }
        if let started { return started }
        // An empty blob has no chunk to wait for.
        if manifest.chunkCount == 0 { try commit(id) }
        guard let info = info(id) else { throw BlobError.unknownBlob(id) }
        return info
    }

    /// Verifies and stores one chunk of a download. Returns false, writing nothing, when the
    /// bytes do not match the manifest (wrong index, wrong length or wrong content); a chunk
    /// already held is accepted without writing. Commits the bitmap every
    /// `commitEveryChunks` chunks or `commitInterval`, and completes the blob with its last chunk.
    public func writeChunk(_ id: BlobID, index: Int, bytes: [UInt8]) throws -> Bool {
        let pending = try state.withLock { entries -> (BlobManifest, BlobFile)? in
            guard let entry = entries[id] else { throw BlobError.unknownBlob(id) }
            guard !entry.complete, index >= 0, index < entry.manifest.chunkCount, !entry.chunks[index],
                  let file = entry.download else { return nil }
            return (entry.manifest, file)
        }
        guard let (manifest, file) = pending else { return manifest(id)?.verify(chunk: bytes, index: index) ?? false }
        guard manifest.verify(chunk: bytes, index: index) else { return false }
        try bytes.withUnsafeBytes { try file.write($0, at: manifest.byteRange(ofChunk: index).lowerBound) }
        let due = state.withLock { entries -> Bool in
            // Removed or replaced while we wrote: the bytes went to a file no longer used.
            guard var entry = entries[id], entry.download === file else { return false }
            if entry.chunks.insert(index) { entry.uncommittedChunks += 1 }
            entries[id] = entry
            return entry.chunks.isFull || entry.uncommittedChunks >= commitEveryChunks
                || ContinuousClock.now - entry.lastCommit >= Self.commitInterval
        }
        if due { try commit(id) }
        return true
    }

    /// Commits every download's chunks written since its last commit (the daemon calls it
    /// when it stops; a download that stalls otherwise waits for its next chunk).
    public func flush() throws {
        let pending = state.withLock { entries in entries.values.filter { $0.uncommittedChunks > 0 }.map(\.id) }
        for id in pending { try commit(id) }
    }

    /// Chunks still to fetch, in order; empty for an unknown or complete blob.
    public func missingChunks(_ id: BlobID) -> [Int] {
        state.withLock { $0[id]?.chunks.missing ?? [] }
    }

    /// For each chunk, whether it is verified and on disk; nil for an unknown blob.
    public func heldChunks(_ id: BlobID) -> [Bool]? {
        state.withLock { $0[id]?.chunks.flags }
    }

    /// Syncs a download's data, then records its bitmap: the ledger never claims a chunk
    /// that is not on disk. With every chunk held, renames the file into place and marks the
    /// blob complete (registering a model that is a GGUF file).
    func commit(_ id: BlobID) throws {
        try changes.withLock {
            let snapshot = state.withLock { entries -> (BlobFile, ChunkBitmap)? in
                guard var entry = entries[id], !entry.complete, let file = entry.download else { return nil }
                entry.uncommittedChunks = 0
                entry.lastCommit = .now
                entries[id] = entry
                return (file, entry.chunks)
            }
            guard let (file, chunks) = snapshot else { return }
            try file.sync()
            guard chunks.isFull else {
                try ledger.updateBlobChunks(id: id.hex, bitmap: chunks.data, complete: false)
                return
            }
            try BlobFiles.move(partialPath(id), to: completePath(id))
            try BlobFiles.syncDirectory(directory.path)
            // The file is complete and synced whatever the ledger says: startup recovery
            // completes a row left partial.
            guard let entry = state.withLock({ entries -> BlobEntry? in
                entries[id]?.complete = true
                entries[id]?.download = nil
                return entries[id]
            }) else { return }
            let model = entry.kind == .model ? try? ModelFacts(path: completePath(id)) : nil
            try ledger.saveBlob(entry.record, model: model?.record(id: id, name: entry.name, size: entry.manifest.size,
                                                                  path: completePath(id)))
        }
    }
}
