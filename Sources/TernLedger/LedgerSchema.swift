import GRDB

/// The ledger's schema, built only by migrations so that a database written by an older
/// node is upgraded in place and never rebuilt. Each migration runs once, in a transaction.
///
/// Node ids and content hashes are lowercase hex text: readable in the `sqlite3` shell and
/// the same spelling the CLI prints.
enum LedgerSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-membership", migrate: createMembershipTables)
        migrator.registerMigration("v1-artifacts", migrate: createArtifactTables)
        migrator.registerMigration("v1-work", migrate: createWorkTables)
        migrator.registerMigration("v2-blobs", migrate: createBlobTables)
        migrator.registerMigration("v2-receipts", migrate: recreateReceiptTables)
        migrator.registerMigration("v3-revocations", migrate: addRevocations)
        migrator.registerMigration("v3-profile-kernel-class", migrate: addProfileKernelClass)
        return migrator
    }

    /// Profile schema 2 names the node's kernel class; rows stored before it say "" (unknown).
    private static func addProfileKernelClass(_ db: Database) throws {
        try db.alter(table: "profiles") { t in t.add(column: "kernel_class", .text).notNull().defaults(to: "") }
    }

    /// Peers, their newest hardware profile, and the log of membership state changes.
    private static func createMembershipTables(_ db: Database) throws {
        try db.create(table: "peers") { t in
            t.primaryKey("node_id", .text)
            t.column("address", .text).notNull()
            t.column("fingerprint", .text).notNull()
            t.column("first_seen", .datetime).notNull()
            t.column("last_seen", .datetime).notNull()
            t.column("state", .text).notNull()
            t.column("incarnation", .integer).notNull()
            t.column("score", .double).notNull().defaults(to: 0)
        }
        try db.create(index: "peers_by_state", on: "peers", columns: ["state", "last_seen"])

        // One row per node: only the newest signed profile version is worth keeping.
        try db.create(table: "profiles") { t in
            t.primaryKey("node_id", .text)
            t.column("version", .integer).notNull()
            t.column("signed_bytes", .blob).notNull()
            t.column("device_class", .text).notNull()
            t.column("cores", .integer).notNull()
            t.column("ram_bytes", .integer).notNull()
            t.column("isa", .text).notNull()
            t.column("gpus_json", .text).notNull()
            t.column("gops", .double)
            t.column("received_at", .datetime).notNull()
        }

        try db.create(table: "membership_events") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("node_id", .text).notNull()
            t.column("from_state", .text)
            t.column("to_state", .text).notNull()
            t.column("incarnation", .integer).notNull()
            t.column("at", .datetime).notNull()
        }
        try db.create(index: "membership_events_by_node", on: "membership_events", columns: ["node_id", "at"])
    }

    /// Models and LoRA adapters held or known, addressed by content hash.
    private static func createArtifactTables(_ db: Database) throws {
        try db.create(table: "models") { t in
            t.primaryKey("content_hash", .text)
            t.column("name", .text).notNull()
            t.column("architecture", .text).notNull()
            t.column("file_size", .integer).notNull()
            t.column("tensor_types", .text).notNull()
            t.column("path", .text)
        }

        // No foreign key to `models`: an adapter's record can arrive (by gossip or a finished
        // fine-tune round) on a node that does not hold the base model itself.
        try db.create(table: "adapters") { t in
            t.primaryKey("hash", .text)
            t.column("base_model_hash", .text).notNull()
            t.column("rank", .integer).notNull()
            t.column("alpha", .double).notNull()
            t.column("modules", .text).notNull()
            t.column("dataset_hash", .text)
            t.column("metrics_json", .text).notNull().defaults(to: "{}")
            t.column("blob_hash", .text).notNull()
            t.column("created_at", .datetime).notNull()
        }
        try db.create(index: "adapters_by_base_model", on: "adapters", columns: ["base_model_hash"])
    }

    /// Distributed fine-tuning: a task runs in rounds; each round splits the dataset into
    /// shards assigned to workers; a finished shard yields a receipt; receipts earn credits.
    /// The dispatcher keeps all of it here so that it resumes after a restart.
    private static func createWorkTables(_ db: Database) throws {
        try db.create(table: "tasks") { t in
            t.primaryKey("id", .text)
            t.column("kind", .text).notNull()
            t.column("state", .text).notNull()
            t.column("dispatcher_node_id", .text).notNull()
            t.column("base_model_hash", .text).notNull()
            t.column("dataset_hash", .text)
            t.column("config_json", .text).notNull().defaults(to: "{}")
            t.column("created_at", .datetime).notNull()
            t.column("updated_at", .datetime).notNull()
        }
        try db.create(index: "tasks_by_state", on: "tasks", columns: ["state"])

        try db.create(table: "rounds") { t in
            t.column("task_id", .text).notNull().references("tasks", onDelete: .cascade)
            t.column("round_index", .integer).notNull()
            t.column("state", .text).notNull()
            t.column("started_at", .datetime).notNull()
            t.column("deadline", .datetime).notNull()
            t.column("finished_at", .datetime)
            t.column("adapter_hash", .text)
            t.primaryKey(["task_id", "round_index"])
        }

        try db.create(table: "shards") { t in
            t.column("task_id", .text).notNull()
            t.column("round_index", .integer).notNull()
            t.column("shard_index", .integer).notNull()
            t.column("worker_node_id", .text)
            t.column("state", .text).notNull()
            t.column("assigned_at", .datetime)
            t.column("deadline", .datetime)
            t.column("completed_at", .datetime)
            t.column("result_hash", .text)
            t.primaryKey(["task_id", "round_index", "shard_index"])
            t.foreignKey(["task_id", "round_index"], references: "rounds", onDelete: .cascade)
        }
        try db.create(index: "shards_by_worker", on: "shards", columns: ["worker_node_id", "state"])

        try db.create(table: "receipts") { t in
            t.primaryKey("id", .text)
            t.column("task_id", .text).notNull()
            t.column("round_index", .integer).notNull()
            t.column("shard_index", .integer).notNull()
            t.column("worker_node_id", .text).notNull()
            t.column("dispatcher_node_id", .text).notNull()
            t.column("work_units", .integer).notNull()
            t.column("body", .blob).notNull()
            t.column("worker_signature", .blob).notNull()
            t.column("dispatcher_signature", .blob)
            t.column("created_at", .datetime).notNull()
            t.foreignKey(["task_id", "round_index", "shard_index"], references: "shards")
        }
        try db.create(index: "receipts_by_worker", on: "receipts", columns: ["worker_node_id"])
        try db.create(index: "receipts_by_shard", on: "receipts", columns: ["task_id", "round_index", "shard_index"])

        try db.create(table: "credits") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("node_id", .text).notNull()
            t.column("receipt_id", .text).references("receipts")
            t.column("amount", .integer).notNull()
            t.column("reason", .text).notNull()
            t.column("at", .datetime).notNull()
        }
        try db.create(index: "credits_by_node", on: "credits", columns: ["node_id", "at"])
        try db.create(index: "credits_by_receipt", on: "credits", columns: ["receipt_id"])
    }

    /// Receipts and credits for jobs. The v1 tables were tied to shards and never written,
    /// so they are dropped, not converted. A receipt is keyed by its job id and keeps the
    /// exact signed bytes, so it can be re-verified and re-sent; `credits` holds one running
    /// total per node, updated in the transaction that accepts a receipt.
    private static func recreateReceiptTables(_ db: Database) throws {
        try db.drop(table: "credits")
        try db.drop(table: "receipts")

        try db.create(table: "receipts") { t in
            t.primaryKey("job_id", .text)
            t.column("kind", .text).notNull()
            t.column("worker_node_id", .text).notNull()
            t.column("requester_node_id", .text).notNull()
            t.column("output_blob_id", .text)
            t.column("tokens", .integer).notNull()
            t.column("wall_millis", .integer).notNull()
            t.column("signed_bytes", .blob).notNull()
            t.column("worker_signature", .blob).notNull()
            t.column("requester_signature", .blob)
            t.column("accepted", .boolean).notNull().defaults(to: false)
            t.column("created_at", .datetime).notNull()
        }
        try db.create(index: "receipts_by_worker", on: "receipts", columns: ["worker_node_id", "created_at"])
        try db.create(index: "receipts_by_requester", on: "receipts", columns: ["requester_node_id", "created_at"])

        try db.create(table: "credits") { t in
            t.primaryKey("node_id", .text)
            t.column("jobs_accepted", .integer).notNull().defaults(to: 0)
            t.column("jobs_rejected", .integer).notNull().defaults(to: 0)
            t.column("tokens_accepted", .integer).notNull().defaults(to: 0)
            t.column("wall_millis_accepted", .integer).notNull().defaults(to: 0)
            t.column("updated_at", .datetime).notNull()
        }

        // A shard of a distributed round will be one job; its receipt names the work done.
        try db.alter(table: "shards") { t in
            t.add(column: "receipt_job_id", .text).references("receipts", onDelete: .setNull)
        }
    }

    /// A requester that later learns a worker lied (a fine-tune check failed) takes back the
    /// credit of that worker's accepted jobs: the receipt keeps its signatures and says why
    /// it no longer counts, and the worker's totals say how many were revoked.
    private static func addRevocations(_ db: Database) throws {
        try db.alter(table: "receipts") { t in t.add(column: "revoked_reason", .text) }
        try db.alter(table: "credits") { t in t.add(column: "jobs_revoked", .integer).notNull().defaults(to: 0) }
    }
}
