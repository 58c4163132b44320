import Foundation
import GRDB
import TernLedger
import Testing

@Suite struct ReceiptLedgerTests {
    let ledger: Ledger
    let t0 = Date(timeIntervalSince1970: 1_760_000_000)
    let worker = String(repeating: "a1", count: 32), requester = String(repeating: "b2", count: 32)

    init() throws {
        ledger = try Ledger(writer: DatabaseQueue())
    }

    func receipt(_ job: String, countersigned: Bool = false, tokens: Int64 = 100, wallMillis: Int64 = 2_000,
                 at offset: TimeInterval = 0) -> ReceiptRecord {
        ReceiptRecord(jobID: job, kind: "train", workerNodeID: worker, requesterNodeID: requester,
                      outputBlobID: String(repeating: "cd", count: 32), tokens: tokens, wallMillis: wallMillis,
                      signedBytes: Data([1, 2, 3, countersigned ? 1 : 0]), workerSignature: Data(repeating: 7, count: 64),
                      requesterSignature: countersigned ? Data(repeating: 8, count: 64) : nil,
                      createdAt: t0.addingTimeInterval(offset))
    }

    @Test func storesAndListsReceiptsNewestFirst() throws {
        #expect(try ledger.storeReceipt(receipt("01", at: 0)))
        #expect(try ledger.storeReceipt(receipt("02", at: 10)))
        #expect(try ledger.storeReceipt(receipt("03", at: 20)))
        #expect(try ledger.receipts(limit: 10).map(\.jobID) == ["03", "02", "01"])
        #expect(try ledger.receipts(limit: 2).map(\.jobID) == ["03", "02"])
        #expect(try ledger.receipt(jobID: "02") == receipt("02", at: 10))
        #expect(try ledger.receipt(jobID: "99") == nil)
    }

    @Test func countersignedReplacesWorkerOnlyButNeverTheReverse() throws {
        #expect(try ledger.storeReceipt(receipt("01")))
        #expect(try ledger.storeReceipt(receipt("01", countersigned: true)))
        #expect(try ledger.receipt(jobID: "01")?.isCountersigned == true)
        #expect(try !ledger.storeReceipt(receipt("01")))
        #expect(try ledger.receipt(jobID: "01") == receipt("01", countersigned: true))
        // A second worker-only version of a held job is not history to overwrite either.
        #expect(try ledger.storeReceipt(receipt("02")))
        #expect(try !ledger.storeReceipt(receipt("02", tokens: 999)))
        #expect(try ledger.receipt(jobID: "02")?.tokens == 100)
    }

    @Test func acceptingCreditsOnceInTheSameTransaction() throws {
        #expect(try ledger.storeReceipt(receipt("01")))
        #expect(throws: LedgerError.receiptNotCountersigned(jobID: "01")) {
            try ledger.acceptReceipt(receipt("01"), creditTo: worker)
        }
        #expect(try ledger.credits().isEmpty)

        #expect(try ledger.acceptReceipt(receipt("01", countersigned: true), creditTo: worker, at: t0))
        #expect(try !ledger.acceptReceipt(receipt("01", countersigned: true), creditTo: worker, at: t0))
        #expect(try ledger.acceptReceipt(receipt("02", countersigned: true, tokens: 50, wallMillis: 500), creditTo: worker,
                                         at: t0.addingTimeInterval(5)))
        try ledger.recordJobOutcome(nodeID: worker, accepted: false, tokens: 0, wallMillis: 0, at: t0.addingTimeInterval(9))
        let stored = try #require(try ledger.receipt(jobID: "01"))
        #expect(stored.accepted && stored.isCountersigned)
        // A worker-only copy arriving later changes neither the receipt nor the credit.
        #expect(try !ledger.storeReceipt(receipt("01")))
        #expect(try ledger.receipt(jobID: "01")?.accepted == true)
        #expect(try ledger.credits() == [CreditRecord(nodeID: worker, jobsAccepted: 2, jobsRejected: 1, tokensAccepted: 150,
                                                      wallMillisAccepted: 2_500, updatedAt: t0.addingTimeInterval(9))])
    }

    @Test func revokingTakesBackExactlyTheCreditOfTheNamedAcceptedJobs() throws {
        try ledger.acceptReceipt(receipt("01", countersigned: true, tokens: 100, wallMillis: 1_000), creditTo: worker, at: t0)
        try ledger.acceptReceipt(receipt("02", countersigned: true, tokens: 40, wallMillis: 400), creditTo: worker, at: t0)
        #expect(try ledger.storeReceipt(receipt("03")), "never accepted: nothing to take back")
        let revoked = try ledger.revokeReceipts(jobIDs: ["01", "03", "99", "01"], of: worker, reason: "failed a check",
                                                at: t0.addingTimeInterval(5))
        #expect(revoked == 1)
        #expect(try ledger.revokeReceipts(jobIDs: ["01"], of: worker, reason: "again") == 0, "revoked once only")
        #expect(try ledger.revokeReceipts(jobIDs: ["02"], of: requester, reason: "not its job") == 0)
        #expect(try ledger.receipt(jobID: "01")?.revokedReason == "failed a check")
        #expect(try ledger.receipt(jobID: "02")?.revokedReason == nil)
        #expect(try ledger.credits() == [CreditRecord(nodeID: worker, jobsAccepted: 1, tokensAccepted: 40, wallMillisAccepted: 400,
                                                      jobsRevoked: 1, updatedAt: t0.addingTimeInterval(5))])
        #expect(try ledger.credit(nodeID: worker)?.jobsRevoked == 1)
        #expect(try ledger.trainTokensPerSecond(of: worker) == 100, "only the job that still counts: 40 tokens in 0.4 s")
        #expect(try ledger.trainTokensPerSecond(of: requester) == nil)
        #expect(try ledger.receiptCounts() == ["accepted": 1, "revoked": 1, "pending": 1])
    }

    @Test func anEmptyLedgerCountsNoReceipts() throws {
        #expect(try ledger.receiptCounts() == ["accepted": 0, "revoked": 0, "pending": 0])
    }

    @Test func aFailedAcceptanceLeavesNoCredit() throws {
        // The credit write fails after the receipt was written in the same transaction:
        // the receipt must be undone with it.
        try ledger.writer.write { db in
            try db.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON credits BEGIN SELECT RAISE(ABORT, 'refused'); END")
        }
        #expect(throws: (any Error).self) { try ledger.acceptReceipt(receipt("01", countersigned: true), creditTo: worker) }
        #expect(try ledger.credits().isEmpty)
        #expect(try ledger.receipt(jobID: "01") == nil)
    }

    @Test func creditTotalsSaturateInsteadOfOverflowing() throws {
        try ledger.recordJobOutcome(nodeID: worker, accepted: true, tokens: .max - 1, wallMillis: 1, at: t0)
        try ledger.recordJobOutcome(nodeID: worker, accepted: true, tokens: 10, wallMillis: -5, at: t0)
        let credit = try #require(try ledger.credits().first)
        #expect(credit.tokensAccepted == .max && credit.wallMillisAccepted == 1 && credit.jobsAccepted == 2)
    }

    @Test func creditsListMostTokensFirst() throws {
        try ledger.recordJobOutcome(nodeID: "n1", accepted: true, tokens: 10, wallMillis: 1, at: t0)
        try ledger.recordJobOutcome(nodeID: "n2", accepted: true, tokens: 30, wallMillis: 1, at: t0)
        try ledger.recordJobOutcome(nodeID: "n3", accepted: false, tokens: 99, wallMillis: 1, at: t0)
        #expect(try ledger.credits().map(\.nodeID) == ["n2", "n1", "n3"])
        #expect(try ledger.credits().last?.tokensAccepted == 0)
    }

    @Test func receiptsAndCreditsSurviveReopeningOnDisk() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tern-receipts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ledger.sqlite").path
        do {
            let ledger = try Ledger.open(path: path)
            try ledger.acceptReceipt(receipt("01", countersigned: true), creditTo: worker, at: t0)
        }
        let reopened = try Ledger.open(path: path)
        #expect(try reopened.receipt(jobID: "01")?.accepted == true)
        #expect(try reopened.credits().map(\.jobsAccepted) == [1])
        #expect(try reopened.integrityProblems().isEmpty)
    }

    @Test func upgradesALedgerWrittenByAVersionOneNode() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tern-ledger-v1-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ledger.sqlite").path
        do {
            let v1 = try DatabaseQueue(path: path)
            try v1.write { db in
                try db.execute(sql: Self.versionOneSchema)
                try db.execute(sql: """
                    INSERT INTO peers VALUES ('\(worker)', '10.0.0.1:7946', 'a1a1', '2025-01-01 00:00:00.000', '2025-01-01 00:00:00.000', 'alive', 3, 0);
                    INSERT INTO tasks VALUES ('t1', 'finetune', 'running', '\(requester)', 'm', NULL, '{}', '2025-01-01 00:00:00.000', '2025-01-01 00:00:00.000');
                    INSERT INTO rounds VALUES ('t1', 0, 'running', '2025-01-01 00:00:00.000', '2025-01-01 01:00:00.000', NULL, NULL);
                    INSERT INTO shards VALUES ('t1', 0, 0, '\(worker)', 'done', NULL, NULL, NULL, 'h');
                    INSERT INTO receipts VALUES ('r1', 't1', 0, 0, '\(worker)', '\(requester)', 5, x'01', x'02', NULL, '2025-01-01 00:00:00.000');
                    INSERT INTO credits (node_id, receipt_id, amount, reason, at) VALUES ('\(worker)', 'r1', 5, 'shard', '2025-01-01 00:00:00.000');
                    """)
            }
            try v1.close()
        }

        let ledger = try Ledger.open(path: path)
        let (migrations, shardColumns, oldRows) = try ledger.writer.read { db in
            (try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
             try db.columns(in: "shards").map(\.name),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM receipts") ?? -1)
        }
        #expect(migrations.contains("v2-receipts"))
        #expect(shardColumns.contains("receipt_job_id"))
        #expect(oldRows == 0)
        #expect(try ledger.peer(nodeID: worker)?.incarnation == 3)
        #expect(try ledger.writer.read { db in try String.fetchOne(db, sql: "SELECT result_hash FROM shards") } == "h")

        #expect(try ledger.acceptReceipt(receipt("01", countersigned: true), creditTo: worker, at: t0))
        try ledger.writer.write { db in try db.execute(sql: "UPDATE shards SET receipt_job_id = '01'") }
        #expect(try ledger.credits().map(\.tokensAccepted) == [100])
        #expect(try ledger.integrityProblems().isEmpty)
        #expect(try ledger.writer.read { db in try Row.fetchAll(db, sql: "PRAGMA foreign_key_check") }.isEmpty)
    }

    /// The schema a node wrote before receipts were for jobs: the tables of the three v1
    /// migrations in the DDL GRDB generates for them (as `sqlite3 .schema` prints it).
    static let versionOneSchema = """
        CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
        INSERT INTO grdb_migrations VALUES ('v1-membership'), ('v1-artifacts'), ('v1-work');
        CREATE TABLE "peers" ("node_id" TEXT PRIMARY KEY NOT NULL, "address" TEXT NOT NULL, "fingerprint" TEXT NOT NULL, "first_seen" DATETIME NOT NULL, "last_seen" DATETIME NOT NULL, "state" TEXT NOT NULL, "incarnation" INTEGER NOT NULL, "score" DOUBLE NOT NULL DEFAULT 0);
        CREATE INDEX "peers_by_state" ON "peers"("state", "last_seen");
        CREATE TABLE "profiles" ("node_id" TEXT PRIMARY KEY NOT NULL, "version" INTEGER NOT NULL, "signed_bytes" BLOB NOT NULL, "device_class" TEXT NOT NULL, "cores" INTEGER NOT NULL, "ram_bytes" INTEGER NOT NULL, "isa" TEXT NOT NULL, "gpus_json" TEXT NOT NULL, "gops" DOUBLE, "received_at" DATETIME NOT NULL);
        CREATE TABLE "membership_events" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "node_id" TEXT NOT NULL, "from_state" TEXT, "to_state" TEXT NOT NULL, "incarnation" INTEGER NOT NULL, "at" DATETIME NOT NULL);
        CREATE INDEX "membership_events_by_node" ON "membership_events"("node_id", "at");
        CREATE TABLE "models" ("content_hash" TEXT PRIMARY KEY NOT NULL, "name" TEXT NOT NULL, "architecture" TEXT NOT NULL, "file_size" INTEGER NOT NULL, "tensor_types" TEXT NOT NULL, "path" TEXT);
        CREATE TABLE "adapters" ("hash" TEXT PRIMARY KEY NOT NULL, "base_model_hash" TEXT NOT NULL, "rank" INTEGER NOT NULL, "alpha" DOUBLE NOT NULL, "modules" TEXT NOT NULL, "dataset_hash" TEXT, "metrics_json" TEXT NOT NULL DEFAULT '{}', "blob_hash" TEXT NOT NULL, "created_at" DATETIME NOT NULL);
        CREATE INDEX "adapters_by_base_model" ON "adapters"("base_model_hash");
        CREATE TABLE "tasks" ("id" TEXT PRIMARY KEY NOT NULL, "kind" TEXT NOT NULL, "state" TEXT NOT NULL, "dispatcher_node_id" TEXT NOT NULL, "base_model_hash" TEXT NOT NULL, "dataset_hash" TEXT, "config_json" TEXT NOT NULL DEFAULT '{}', "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL);
        CREATE INDEX "tasks_by_state" ON "tasks"("state");
        CREATE TABLE "rounds" ("task_id" TEXT NOT NULL REFERENCES "tasks"("id") ON DELETE CASCADE, "round_index" INTEGER NOT NULL, "state" TEXT NOT NULL, "started_at" DATETIME NOT NULL, "deadline" DATETIME NOT NULL, "finished_at" DATETIME, "adapter_hash" TEXT, PRIMARY KEY ("task_id", "round_index"));
        CREATE TABLE "shards" ("task_id" TEXT NOT NULL, "round_index" INTEGER NOT NULL, "shard_index" INTEGER NOT NULL, "worker_node_id" TEXT, "state" TEXT NOT NULL, "assigned_at" DATETIME, "deadline" DATETIME, "completed_at" DATETIME, "result_hash" TEXT, PRIMARY KEY ("task_id", "round_index", "shard_index"), FOREIGN KEY ("task_id", "round_index") REFERENCES "rounds"("task_id", "round_index") ON DELETE CASCADE);
        CREATE INDEX "shards_by_worker" ON "shards"("worker_node_id", "state");
        CREATE TABLE "receipts" ("id" TEXT PRIMARY KEY NOT NULL, "task_id" TEXT NOT NULL, "round_index" INTEGER NOT NULL, "shard_index" INTEGER NOT NULL, "worker_node_id" TEXT NOT NULL, "dispatcher_node_id" TEXT NOT NULL, "work_units" INTEGER NOT NULL, "body" BLOB NOT NULL, "worker_signature" BLOB NOT NULL, "dispatcher_signature" BLOB, "created_at" DATETIME NOT NULL, FOREIGN KEY ("task_id", "round_index", "shard_index") REFERENCES "shards"("task_id", "round_index", "shard_index"));
        CREATE INDEX "receipts_by_worker" ON "receipts"("worker_node_id");
        CREATE INDEX "receipts_by_shard" ON "receipts"("task_id", "round_index", "shard_index");
        CREATE TABLE "credits" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "node_id" TEXT NOT NULL, "receipt_id" TEXT REFERENCES "receipts"("id"), "amount" INTEGER NOT NULL, "reason" TEXT NOT NULL, "at" DATETIME NOT NULL);
        CREATE INDEX "credits_by_node" ON "credits"("node_id", "at");
        CREATE INDEX "credits_by_receipt" ON "credits"("receipt_id");
        """
}
