import Foundation
import GRDB

// MARK: Job receipts and credits

extension Ledger {
    /// Stores `receipt` by job id unless a better one is held: a countersigned receipt
    /// replaces a worker-only one, never the reverse, and a held receipt is otherwise kept
    /// (the first signed version of a job is history). `accepted` never goes back to false.
    /// Returns whether it was stored.
    @discardableResult
    public func storeReceipt(_ receipt: ReceiptRecord) throws -> Bool {
        try writer.write { db in try Self.store(receipt, in: db) }
    }

    /// Stores the countersigned `receipt` as accepted and credits `nodeID` (normally the
    /// worker) with its tokens and time, in one transaction. Accepting a job again credits
    /// nothing more. Returns whether credit was given.
    @discardableResult
    public func acceptReceipt(_ receipt: ReceiptRecord, creditTo nodeID: String, at date: Date = Date()) throws -> Bool {
        guard receipt.isCountersigned else { throw LedgerError.receiptNotCountersigned(jobID: receipt.jobID) }
        return try writer.write { db in
            let wasAccepted = try ReceiptRecord.fetchOne(db, key: receipt.jobID)?.accepted ?? false
            var accepted = receipt
            accepted.accepted = true
            _ = try Self.store(accepted, in: db)
            guard !wasAccepted else { return false }
            try Self.recordJobOutcome(nodeID: nodeID, accepted: true, tokens: receipt.tokens,
                                      wallMillis: receipt.wallMillis, at: date, in: db)
            return true
        }
    }

    /// Adds one accepted job (with its tokens and time) or one rejected job to `nodeID`'s
    /// totals. Totals saturate instead of overflowing: the numbers come from peers.
    public func recordJobOutcome(nodeID: String, accepted: Bool, tokens: Int64, wallMillis: Int64, at date: Date = Date()) throws {
        try writer.write { db in
            try Self.recordJobOutcome(nodeID: nodeID, accepted: accepted, tokens: tokens, wallMillis: wallMillis, at: date, in: db)
        }
    }

    /// Takes back the credit of `nodeID`'s accepted jobs among `jobIDs`: each receipt is
    /// marked revoked with `reason`, and its tokens and time leave the node's accepted totals,
    /// in one transaction. A receipt of another worker, one never accepted or one already
    /// revoked is left alone. Returns how many were revoked.
    @discardableResult
    public func revokeReceipts(jobIDs: [String], of nodeID: String, reason: String, at date: Date = Date()) throws -> Int {
        try writer.write { db in
            var revoked = 0
            var credit = try CreditRecord.fetchOne(db, key: nodeID) ?? CreditRecord(nodeID: nodeID, updatedAt: date)
            for jobID in Set(jobIDs) {
                guard var receipt = try ReceiptRecord.fetchOne(db, key: jobID), receipt.workerNodeID == nodeID,
                      receipt.accepted, receipt.revokedReason == nil else { continue }
                receipt.revokedReason = reason
                try receipt.update(db)
                credit.jobsAccepted = max(0, credit.jobsAccepted - 1)
                credit.tokensAccepted = max(0, credit.tokensAccepted - max(receipt.tokens, 0))
                credit.wallMillisAccepted = max(0, credit.wallMillisAccepted - max(receipt.wallMillis, 0))
                credit.jobsRevoked = Self.saturatingSum(credit.jobsRevoked, 1)
                revoked += 1
            }
            if revoked > 0 {
                credit.updatedAt = max(credit.updatedAt, date)
                try credit.save(db)
            }
            return revoked
        }
    }

    /// `nodeID`'s totals, if this node ever recorded a job of it.
    public func credit(nodeID: String) throws -> CreditRecord? {
        try writer.read { db in try CreditRecord.fetchOne(db, key: nodeID) }
    }

    /// Training tokens per second of `nodeID`'s accepted, unrevoked train jobs for this node
    /// (their receipts' tokens over the time the work took); nil without one.
    public func trainTokensPerSecond(of nodeID: String) throws -> Double? {
        try writer.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT SUM(tokens) AS tokens, SUM(wall_millis) AS millis FROM receipts
                WHERE worker_node_id = ? AND kind = 'train' AND accepted = 1 AND revoked_reason IS NULL
                """, arguments: [nodeID])
            guard let tokens: Int64 = row?["tokens"], let millis: Int64 = row?["millis"], tokens > 0, millis > 0 else { return nil }
            return Double(tokens) / (Double(millis) / 1000)
        }
    }

    /// Receipts, newest first.
    public func receipts(limit: Int = 100) throws -> [ReceiptRecord] {
        try writer.read { db in
            try ReceiptRecord.order(Column("created_at").desc, Column("job_id")).limit(limit).fetchAll(db)
        }
    }

    /// How many receipts the ledger holds, by state: `accepted` (credit stands), `revoked`
    /// (accepted, then taken back) and `pending` (signed by the worker, no verdict yet or
    /// refused). One query, for `/metrics`.
    public func receiptCounts() throws -> [String: Int] {
        try writer.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT SUM(accepted = 1 AND revoked_reason IS NULL) AS accepted,
                       SUM(revoked_reason IS NOT NULL) AS revoked,
                       SUM(accepted = 0 AND revoked_reason IS NULL) AS pending
                FROM receipts
                """)
            return ["accepted": row?["accepted"] ?? 0, "revoked": row?["revoked"] ?? 0, "pending": row?["pending"] ?? 0]
        }
    }

    public func receipt(jobID: String) throws -> ReceiptRecord? {
        try writer.read { db in try ReceiptRecord.fetchOne(db, key: jobID) }
    }

    /// Every node's totals, most tokens accepted first.
    public func credits() throws -> [CreditRecord] {
        try writer.read { db in
            try CreditRecord.order(Column("tokens_accepted").desc, Column("jobs_accepted").desc, Column("node_id")).fetchAll(db)
        }
    }

    static func store(_ receipt: ReceiptRecord, in db: Database) throws -> Bool {
        guard let held = try ReceiptRecord.fetchOne(db, key: receipt.jobID) else {
            try receipt.insert(db)
            return true
        }
        if !held.isCountersigned && receipt.isCountersigned {
            var replacement = receipt
            replacement.accepted = receipt.accepted || held.accepted
            try replacement.update(db)
            return true
        }
        if receipt.accepted && !held.accepted {
            try db.execute(sql: "UPDATE receipts SET accepted = 1 WHERE job_id = ?", arguments: [receipt.jobID])
        }
        return false
    }

    static func recordJobOutcome(nodeID: String, accepted: Bool, tokens: Int64, wallMillis: Int64, at date: Date,
                                 in db: Database) throws {
        var credit = try CreditRecord.fetchOne(db, key: nodeID) ?? CreditRecord(nodeID: nodeID, updatedAt: date)
        if accepted {
            credit.jobsAccepted = saturatingSum(credit.jobsAccepted, 1)
            credit.tokensAccepted = saturatingSum(credit.tokensAccepted, tokens)
            credit.wallMillisAccepted = saturatingSum(credit.wallMillisAccepted, wallMillis)
        } else {
            credit.jobsRejected = saturatingSum(credit.jobsRejected, 1)
        }
        credit.updatedAt = max(credit.updatedAt, date)
        try credit.save(db)
    }

    /// `a + b` for non-negative totals, clamped to 0…Int64.max.
    private static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(max(b, 0))
        return overflow ? .max : sum
    }
}
