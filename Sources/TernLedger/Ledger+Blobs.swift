import Foundation
import GRDB

// MARK: Blob store index

extension Ledger {
    /// Writes every column of `blob` (inserting or replacing its row) and, for a model, its
    /// `models` row, in one transaction.
    public func saveBlob(_ blob: BlobRecord, model: ModelRecord? = nil) throws {
        try writer.write { db in
            try blob.save(db)
            try model?.upsert(db)
        }
    }

    public func blob(id: String) throws -> BlobRecord? {
        try writer.read { db in try BlobRecord.fetchOne(db, key: id) }
    }

    /// Every blob row, oldest first.
    public func blobs() throws -> [BlobRecord] {
        try writer.read { db in try BlobRecord.order(Column("created_at"), Column("id")).fetchAll(db) }
    }

    /// Deletes the blob's row; a model it held stays known but no longer held (`path` nil).
    /// Returns whether a row was deleted.
    @discardableResult
    public func deleteBlob(id: String) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "UPDATE models SET path = NULL WHERE blob_id = ?", arguments: [id])
            return try BlobRecord.deleteOne(db, key: id)
        }
    }

    /// Records which chunks are verified and on disk, and whether that is all of them.
    public func updateBlobChunks(id: String, bitmap: Data, complete: Bool) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE blobs SET chunk_bitmap = ?, complete = ? WHERE id = ?",
                           arguments: [bitmap, complete, id])
        }
    }

    public func touchBlob(id: String, at: Date) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE blobs SET last_used_at = ? WHERE id = ?", arguments: [at, id])
        }
    }

    public func setBlobPinned(id: String, _ pinned: Bool) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE blobs SET pinned = ? WHERE id = ?", arguments: [pinned, id])
        }
    }

    /// What a referenced file looks like now that it has been verified again.
    public func updateBlobFile(id: String, fileSize: Int64, fileMtime: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE blobs SET file_size = ?, file_mtime = ? WHERE id = ?",
                           arguments: [fileSize, fileMtime, id])
        }
    }
}
