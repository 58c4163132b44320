import GRDB

extension LedgerSchema {
    /// The node's blob store index: one row per blob held whole or in part. Chunk data lives
    /// in files (the store's directory, or a file referenced in place when `path` is set); the
    /// row says which chunks of it are verified and on disk (`chunk_bitmap`, bit i of byte
    /// i/8 for chunk i, least significant first), so a download resumes after a restart.
    ///
    /// `file_size` and `file_mtime` (nanoseconds since 1970) are what a referenced file looked
    /// like when last verified: a change means re-hashing it before it is used again.
    static func createBlobTables(_ db: Database) throws {
        try db.create(table: "blobs") { t in
            t.primaryKey("id", .text)
            t.column("size", .integer).notNull()
            t.column("kind", .text).notNull()
            t.column("name", .text)
            t.column("pinned", .boolean).notNull().defaults(to: false)
            t.column("created_at", .datetime).notNull()
            t.column("last_used_at", .datetime).notNull()
            t.column("manifest", .blob).notNull()
            t.column("chunk_bitmap", .blob).notNull()
            t.column("complete", .boolean).notNull()
            t.column("path", .text)
            t.column("file_size", .integer)
            t.column("file_mtime", .integer)
        }
        try db.alter(table: "models") { t in t.add(column: "blob_id", .text) }
        try db.create(index: "models_by_blob", on: "models", columns: ["blob_id"])
    }
}
