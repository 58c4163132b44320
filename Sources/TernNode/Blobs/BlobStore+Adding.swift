import Foundation
import TernLedger
import TernMesh

extension BlobStore {
    static let addingPrefix = ".adding-"

    /// Adds a local file. `copy` false references it in place (a model need not be copied):
    /// the store verifies it again whenever its size or modification time changed. A model
    /// (`kind == .model`) must be a GGUF file; its `models` row is registered with the blob.
    /// Adding content the store already holds completely returns that blob unchanged.
    public func add(fileAt path: String, kind: BlobKind, name: String?, copy: Bool) throws -> BlobInfo {
        let path = URL(fileURLWithPath: path).standardizedFileURL.path
        let model = kind == .model ? try ModelFacts(path: path) : nil
        let name = name ?? URL(fileURLWithPath: path).lastPathComponent
        let before = try FileStatus(path: path)
        guard before.size <= BlobManifest.maxBlobSize else {
            throw BlobError.tooLarge(size: before.size, limit: BlobManifest.maxBlobSize)
        }
        guard copy else {
            let manifest = try BlobManifest.hashing(fileAt: path)
            guard try FileStatus(path: path) == before else { throw BlobError.fileChanged(path: path) }
            return try install(manifest, kind: kind, name: name, model: model, from: .reference(path, before))
        }
        // Fail before copying when even eviction cannot make room; `install` makes it for real.
        try changes.withLock { try makeRoom(for: before.size, evicting: false) }
        let temporary = temporaryPath()
        do {
            let manifest = try copyHashing(from: path, to: temporary)
            return try install(manifest, kind: kind, name: name, model: model, from: .storeFile(temporary))
        } catch {
            try? BlobFiles.remove(temporary)
            throw error
        }
    }

    /// Adds bytes made on this node (job outputs).
    public func add(bytes: [UInt8], kind: BlobKind, name: String?) throws -> BlobInfo {
        let model = kind == .model ? try ModelFacts(bytes: bytes) : nil
        guard UInt64(bytes.count) <= BlobManifest.maxBlobSize else {
            throw BlobError.tooLarge(size: UInt64(bytes.count), limit: BlobManifest.maxBlobSize)
        }
        let manifest = BlobManifest.hashing(bytes: bytes)
        if let held = info(manifest.id), held.complete { return held }
        let temporary = temporaryPath()
        do {
            let file = try BlobFile.writing(temporary, truncate: true)
            try bytes.withUnsafeBytes { try file.write($0, at: 0) }
            try file.sync()
            return try install(manifest, kind: kind, name: name, model: model, from: .storeFile(temporary))
        } catch {
            try? BlobFiles.remove(temporary)
            throw error
        }
    }

    enum Source {
        /// A synced file in the store's directory, renamed into place.
        case storeFile(String)
        /// A file referenced in place, as it looked when hashed.
        case reference(String, FileStatus)
    }

    /// Records a hashed blob. Content already held completely wins (the new copy is
    /// dropped); a download of the same content in progress is replaced.
    private func install(_ manifest: BlobManifest, kind: BlobKind, name: String?, model: ModelFacts?,
                         from source: Source) throws -> BlobInfo {
        let id = manifest.id
        return try changes.withLock {
            let replaced = state.withLock { $0[id] }
            if let replaced, replaced.complete {
                if case .storeFile(let temporary) = source { try BlobFiles.remove(temporary) }
                return replaced.info
            }
            let now = Date()
            var entry = BlobEntry(manifest: manifest, kind: kind, name: name, userPinned: false, taskPins: replaced?.taskPins ?? 0,
                                  createdAt: now, lastUsedAt: now, chunks: ChunkBitmap(count: manifest.chunkCount, full: true),
                                  complete: true)
            let filePath: String
            switch source {
            case .storeFile(let temporary):
                try makeRoom(for: manifest.size - (replaced?.ownedBytes ?? 0), evicting: true)
                filePath = completePath(id)
                try BlobFiles.move(temporary, to: filePath)
                try BlobFiles.syncDirectory(directory.path)
            case .reference(let path, let status):
                entry.reference = (path, status)
                entry.referenceVerified = true
                filePath = path
            }
            try ledger.saveBlob(entry.record, model: model?.record(id: id, name: name, size: manifest.size, path: filePath))
            if let replaced { try deleteStoreFile(of: replaced) }
            state.withLock { $0[id] = entry }
            return entry.info
        }
    }

    /// Copies `source` to `destination` and hashes it in the same pass, one chunk at a time:
    /// the manifest describes exactly the bytes copied, even if the source changes meanwhile.
    private func copyHashing(from source: String, to destination: String) throws -> BlobManifest {
        let input = try BlobFile.reading(source)
        let output = try BlobFile.writing(destination, truncate: true)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobManifest.defaultChunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        var builder = BlobManifest.Builder()
        while true {
            let filled = try input.read(into: buffer, at: builder.size)
            guard filled > 0 else { break }
            guard builder.size + UInt64(filled) <= BlobManifest.maxBlobSize else {
                throw BlobError.tooLarge(size: builder.size + UInt64(filled), limit: BlobManifest.maxBlobSize)
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<filled])
            try output.write(chunk, at: builder.size)
            builder.append(chunk)
            guard filled == BlobManifest.defaultChunkSize else { break }
        }
        try output.sync()
        return builder.finish()
    }

    private func temporaryPath() -> String {
        directory.appendingPathComponent(Self.addingPrefix + UUID().uuidString).path
    }
}
