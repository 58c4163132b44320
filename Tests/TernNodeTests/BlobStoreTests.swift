import Foundation
import TernLedger
import TernMesh
import TernModel
import TernNode
import TernSupport
import Testing

/// The blob store on real files in a temporary directory, with a real on-disk ledger.
@Suite final class BlobStoreTests {
    static let chunk = BlobManifest.defaultChunkSize
    let root: URL
    let ledgerPath: String
    let ledger: Ledger

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-blobs-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        ledgerPath = root.appendingPathComponent("ledger.sqlite").path
        ledger = try Ledger.open(path: ledgerPath)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    var blobDirectory: URL { root.appendingPathComponent("blobs") }

    func makeStore(quota: UInt64 = 1 << 30, ledger: Ledger? = nil,
                   commitEveryChunks: Int = BlobStore.defaultCommitEveryChunks) throws -> BlobStore {
        try BlobStore(directory: blobDirectory, ledger: ledger ?? self.ledger, quotaBytes: quota,
                      commitEveryChunks: commitEveryChunks)
    }

    /// Seeded bytes, filled a word at a time (fast in a debug build).
    func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            for offset in stride(from: 0, to: count, by: 8) {
                var word = generator.next()
                withUnsafeBytes(of: &word) { raw.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: min(8, count - offset)) }
            }
        }
        return bytes
    }

    func writeFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = root.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func contents(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func chunk(_ bytes: [UInt8], _ index: Int) -> [UInt8] {
        Array(bytes[index * Self.chunk..<min((index + 1) * Self.chunk, bytes.count)])
    }

    // MARK: Adding, serving, removing

    @Test func aCopiedFileIsServedFromTheStoreAndSurvivesItsOriginal() throws {
        let store = try makeStore()
        let bytes = randomBytes(2 * Self.chunk + Self.chunk / 2, seed: 1)
        let original = try writeFile("data.bin", bytes)
        let info = try store.add(fileAt: original, kind: .dataset, name: nil, copy: true)
        #expect(info.id == BlobManifest.hashing(bytes: bytes).id)
        #expect(info.complete && info.chunkCount == 3 && info.chunksHeld == 3 && info.path == nil)
        #expect(info.name == "data.bin" && info.kind == .dataset && store.usedBytes == UInt64(bytes.count))
        try FileManager.default.removeItem(atPath: original)

        for index in 0..<3 { #expect(try store.readChunk(info.id, index: index) == chunk(bytes, index)) }
        #expect(throws: BlobError.chunkNotHeld(info.id, index: 3)) { try store.readChunk(info.id, index: 3) }
        let stored = try store.path(of: info.id)
        #expect(try stored.hasPrefix(blobDirectory.path) && contents(stored) == bytes)
        let exported = root.appendingPathComponent("out.bin").path
        try store.export(info.id, to: exported)
        #expect(try contents(exported) == bytes)

        let again = try store.add(bytes: bytes, kind: .dataset, name: "other")
        #expect(again.id == info.id && store.list().count == 1 && store.usedBytes == UInt64(bytes.count))
        #expect(try makeStore().info(info.id)?.complete == true)
    }

    @Test func aReferencedFileStaysInPlaceAndIsNeverDeleted() throws {
        let store = try makeStore()
        let bytes = randomBytes(Self.chunk + 10, seed: 2)
        let original = try writeFile("model.bin", bytes)
        let info = try store.add(fileAt: original, kind: .checkpoint, name: "ckpt", copy: false)
        #expect(info.path == original && info.complete && store.usedBytes == 0)
        #expect(try store.path(of: info.id) == original)
        #expect(try store.readChunk(info.id, index: 1) == chunk(bytes, 1))
        #expect(try FileManager.default.contentsOfDirectory(atPath: blobDirectory.path).isEmpty)

        try store.remove(info.id)
        #expect(try store.info(info.id) == nil && ledger.blob(id: info.id.hex) == nil)
        #expect(try contents(original) == bytes)
        #expect(throws: BlobError.unknownBlob(info.id)) { try store.readChunk(info.id, index: 0) }
    }

    @Test func aReferencedFileIsVerifiedAgainWhenItChangesAndRefusedWhenItsContentDid() throws {
        let store = try makeStore()
        let bytes = randomBytes(2 * Self.chunk, seed: 3)
        let original = try writeFile("weights.bin", bytes)
        let id = try store.add(fileAt: original, kind: .dataset, name: nil, copy: false).id
        let later = Date().addingTimeInterval(10)

        // Touched but unchanged: hashed again, still served.
        try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: original)
        #expect(try store.path(of: id) == original)

        var changed = bytes
        changed[Self.chunk + 7] ^= 1
        try Data(changed).write(to: URL(fileURLWithPath: original))
        try FileManager.default.setAttributes([.modificationDate: later.addingTimeInterval(10)], ofItemAtPath: original)
        #expect(throws: BlobError.fileChanged(path: original)) { try store.path(of: id) }
        #expect(throws: BlobError.fileChanged(path: original)) { try store.readChunk(id, index: 0) }
        #expect(throws: BlobError.fileChanged(path: original)) { try store.export(id, to: original + ".out") }
    }

    @Test func pinnedBlobsCannotBeRemoved() throws {
        let store = try makeStore()
        let info = try store.add(bytes: randomBytes(1000, seed: 4), kind: .output, name: nil)
        let file = try store.path(of: info.id)
        try store.pin(info.id)
        try store.pin(info.id)
        #expect(store.info(info.id)?.pinned == true)
        #expect(throws: BlobError.inUse(info.id)) { try store.remove(info.id) }
        store.unpin(info.id)
        #expect(throws: BlobError.inUse(info.id)) { try store.remove(info.id) }
        store.unpin(info.id)
        try store.setPinned(info.id, true)
        #expect(throws: BlobError.inUse(info.id)) { try store.remove(info.id) }
        #expect(try makeStore().info(info.id)?.pinned == true)
        try store.setPinned(info.id, false)

        try store.remove(info.id)
        #expect(!FileManager.default.fileExists(atPath: file) && store.list().isEmpty && store.usedBytes == 0)
        #expect(throws: BlobError.unknownBlob(info.id)) { try store.pin(info.id) }
    }

    // MARK: Downloads

    @Test func aDownloadInAnyOrderTakesOnlyVerifiedChunks() throws {
        let store = try makeStore()
        let bytes = randomBytes(5 * Self.chunk + 17, seed: 5)
        let manifest = BlobManifest.hashing(bytes: bytes)
        let started = try store.beginDownload(manifest, kind: .model, name: "remote")
        #expect(!started.complete && started.chunksHeld == 0 && store.usedBytes == UInt64(bytes.count))
        #expect(throws: BlobError.incomplete(manifest.id)) { try store.path(of: manifest.id) }

        var bad = chunk(bytes, 2)
        bad[0] ^= 0xFF
        #expect(try !store.writeChunk(manifest.id, index: 2, bytes: bad))
        #expect(try !store.writeChunk(manifest.id, index: 5, bytes: chunk(bytes, 5) + [0]))
        #expect(try !store.writeChunk(manifest.id, index: 6, bytes: []))
        #expect(store.missingChunks(manifest.id) == Array(0...5))
        #expect(throws: BlobError.chunkNotHeld(manifest.id, index: 2)) { try store.readChunk(manifest.id, index: 2) }

        var generator = SplitMix64(seed: 9)
        for index in Array(0...5).shuffled(using: &generator) {
            #expect(try store.writeChunk(manifest.id, index: index, bytes: chunk(bytes, index)))
            #expect(try store.readChunk(manifest.id, index: index) == chunk(bytes, index))
        }
        let done = try #require(store.info(manifest.id))
        #expect(done.complete && done.chunksHeld == 6 && store.missingChunks(manifest.id).isEmpty)
        #expect(try contents(store.path(of: manifest.id)) == bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: blobDirectory.path) == [manifest.id.hex])
        #expect(try store.writeChunk(manifest.id, index: 0, bytes: chunk(bytes, 0)), "a held chunk is accepted again")
        // Not a GGUF file: the blob is kept, no model is registered.
        #expect(try ledger.models().isEmpty)
    }

    @Test func anEmptyBlobIsCompleteAtOnce() throws {
        let store = try makeStore()
        let info = try store.beginDownload(BlobManifest.hashing(bytes: []), kind: .output, name: nil)
        #expect(info.complete && info.chunkCount == 0)
        #expect(try contents(store.path(of: info.id)).isEmpty)
    }

    @Test func aRestartedStoreResumesWithEveryChunkThatStillVerifies() throws {
        let bytes = randomBytes(6 * Self.chunk, seed: 6)
        let manifest = BlobManifest.hashing(bytes: bytes)
        let first = try makeStore()
        _ = try first.beginDownload(manifest, kind: .dataset, name: nil)
        for index in [0, 2, 4] { #expect(try first.writeChunk(manifest.id, index: index, bytes: chunk(bytes, index))) }
        try first.flush()
        // Written but not committed when the "crash" comes: kept, since it still verifies.
        #expect(try first.writeChunk(manifest.id, index: 1, bytes: chunk(bytes, 1)))
        // Garbage where chunk 3 goes (a write cut short): fetched again.
        let partial = try #require(FileHandle(forUpdatingAtPath: blobDirectory.appendingPathComponent(manifest.id.hex + ".partial").path))
        try partial.seek(toOffset: UInt64(3 * Self.chunk))
        partial.write(Data(repeating: 0x5A, count: 1000))
        try partial.close()

        let restarted = try makeStore(ledger: Ledger.open(path: ledgerPath))
        #expect(restarted.heldChunks(manifest.id) == [true, true, true, false, true, false])
        #expect(restarted.missingChunks(manifest.id) == [3, 5])
        #expect(try restarted.readChunk(manifest.id, index: 4) == chunk(bytes, 4))
        #expect(try restarted.beginDownload(manifest, kind: .dataset, name: nil).chunksHeld == 4)
        for index in restarted.missingChunks(manifest.id) {
            #expect(try restarted.writeChunk(manifest.id, index: index, bytes: chunk(bytes, index)))
        }
        #expect(try contents(restarted.path(of: manifest.id)) == bytes)
        #expect(try makeStore().info(manifest.id)?.complete == true)
    }

    @Test func theBitmapIsCommittedEveryFewDozenChunksWithoutAFlush() throws {
        let every = 8
        let count = every + 1
        let bytes = randomBytes(count * Self.chunk, seed: 7)
        let manifest = BlobManifest.hashing(bytes: bytes)
        let store = try makeStore(commitEveryChunks: every)
        _ = try store.beginDownload(manifest, kind: .dataset, name: nil)
        for index in 0..<every {
            #expect(try store.writeChunk(manifest.id, index: index, bytes: chunk(bytes, index)))
        }
        #expect(try makeStore().missingChunks(manifest.id) == [count - 1])
    }

    // MARK: Quota

    @Test func theQuotaEvictsTheLeastRecentlyUsedUnpinnedBlobs() throws {
        let size = 3 * Self.chunk / 2
        let store = try makeStore(quota: UInt64(4 * Self.chunk))
        let a = try store.add(bytes: randomBytes(size, seed: 10), kind: .dataset, name: "a")
        let b = try store.add(bytes: randomBytes(size, seed: 11), kind: .dataset, name: "b")
        _ = try store.path(of: a.id)
        let c = try store.add(bytes: randomBytes(size, seed: 12), kind: .dataset, name: "c")
        #expect(Set(store.list().map(\.id)) == [a.id, c.id] && store.usedBytes == UInt64(2 * size))
        #expect(try ledger.blob(id: b.id.hex) == nil)

        try store.pin(a.id)
        try store.setPinned(c.id, true)
        let big = BlobManifest.hashing(bytes: randomBytes(2 * Self.chunk, seed: 13))
        #expect(throws: BlobError.quotaExceeded(needed: UInt64(2 * Self.chunk), available: UInt64(4 * Self.chunk - 2 * size),
                                                quota: UInt64(4 * Self.chunk))) {
            try store.beginDownload(big, kind: .dataset, name: nil)
        }
        #expect(store.list().count == 2, "a refused reservation evicts nothing")
        store.unpin(a.id)
        _ = try store.beginDownload(big, kind: .dataset, name: nil)
        #expect(Set(store.list().map(\.id)) == [c.id, big.id])
        #expect(store.usedBytes == UInt64(size + 2 * Self.chunk))
    }

    // MARK: Models

    @Test func aFileThatIsNotGGUFIsRefusedAsAModel() throws {
        let store = try makeStore()
        let bytes = randomBytes(4096, seed: 14)
        let path = try writeFile("notes.txt", bytes)
        let error = #expect(throws: BlobError.self) { try store.add(fileAt: path, kind: .model, name: nil, copy: false) }
        guard case .notAModel(let refused, _) = error else {
            Issue.record("expected notAModel, got \(String(describing: error))")
            return
        }
        #expect(refused == path)
        #expect(throws: BlobError.self) { try store.add(bytes: bytes, kind: .model, name: nil) }
        #expect(try store.list().isEmpty && ledger.models().isEmpty)
    }

    @Test func aGGUFModelRegistersItsModelsRow() throws {
        var writer = try GGUFWriter()
        try writer.set("general.architecture", .string("llama"))
        try writer.set("general.name", .string("tiny"))
        try writer.addTensor(name: "token_embd.weight", type: .f32, dimensions: [32, 4], data: randomBytes(512, seed: 15))
        try writer.addTensor(name: "output.weight", type: .f16, dimensions: [32, 2], data: randomBytes(128, seed: 16))
        let image = writer.serialized()
        let path = try writeFile("tiny.gguf", image)

        let store = try makeStore()
        let info = try store.add(fileAt: path, kind: .model, name: nil, copy: false)
        let model = try #require(try ledger.model(contentHash: info.id.hex))
        #expect(model == ModelRecord(contentHash: info.id.hex, name: "tiny.gguf", architecture: "llama",
                                     fileSize: Int64(image.count), tensorTypes: ["F32", "F16"], path: path,
                                     blobID: info.id.hex))

        try store.remove(info.id)
        #expect(try ledger.model(contentHash: info.id.hex)?.path == nil)

        // The same model fetched from a peer: registered again, now held in the store.
        let manifest = BlobManifest.hashing(bytes: image)
        _ = try store.beginDownload(manifest, kind: .model, name: "tiny")
        #expect(try store.writeChunk(manifest.id, index: 0, bytes: image))
        #expect(try ledger.model(contentHash: info.id.hex)?.path == store.path(of: info.id))
    }
}
