import Foundation
import GRDB
import TernLedger
import Testing

@Suite struct LedgerBlobTests {
    let ledger: Ledger
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    init() throws {
        ledger = try Ledger(writer: DatabaseQueue())
    }

    func blob(_ id: String, complete: Bool = false) -> BlobRecord {
        BlobRecord(id: id, size: 3 << 20, kind: "model", name: "tiny", pinned: false, createdAt: t0, lastUsedAt: t0,
                   manifest: Data([1, 2, 3]), chunkBitmap: Data([0]), complete: complete)
    }

    @Test func blobRowsRoundTripAndUpdateInPlace() throws {
        let partial = blob("b1")
        try ledger.saveBlob(partial)
        #expect(try ledger.blob(id: "b1") == partial)

        try ledger.updateBlobChunks(id: "b1", bitmap: Data([0b101]), complete: false)
        try ledger.touchBlob(id: "b1", at: t0.addingTimeInterval(60))
        try ledger.setBlobPinned(id: "b1", true)
        try ledger.updateBlobFile(id: "b1", fileSize: 42, fileMtime: 1_700_000_000_123_456_789)
        let updated = try #require(try ledger.blob(id: "b1"))
        #expect(updated.chunkBitmap == Data([0b101]) && !updated.complete)
        #expect(updated.lastUsedAt == t0.addingTimeInterval(60) && updated.pinned)
        #expect(updated.fileSize == 42 && updated.fileMtime == 1_700_000_000_123_456_789)

        try ledger.saveBlob(blob("b0", complete: true))
        #expect(try ledger.blobs().map(\.id) == ["b0", "b1"])
        #expect(try ledger.deleteBlob(id: "b1"))
        #expect(try !ledger.deleteBlob(id: "b1"))
        #expect(try ledger.blobs().map(\.id) == ["b0"])
    }

    @Test func removingAModelBlobKeepsTheModelKnownButNotHeld() throws {
        let model = ModelRecord(contentHash: "b1", name: "tiny", architecture: "llama", fileSize: 3 << 20,
                                tensorTypes: ["F32"], path: "/data/blobs/b1", blobID: "b1")
        try ledger.saveBlob(blob("b1", complete: true), model: model)
        #expect(try ledger.model(contentHash: "b1") == model)
        let column = try ledger.writer.read { db in try String.fetchOne(db, sql: "SELECT blob_id FROM models") }
        #expect(column == "b1")

        try ledger.deleteBlob(id: "b1")
        let known = try #require(try ledger.model(contentHash: "b1"))
        #expect(known.path == nil && known.blobID == "b1")
    }
}
