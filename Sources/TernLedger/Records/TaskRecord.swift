import Foundation
import GRDB

/// A distributed task this node dispatches (a fine-tune): what it is, where it stands, and in
/// `configJSON` everything a restarted dispatcher needs to resume it.
public struct TaskRecord: LedgerRecord, Equatable {
    public static let databaseTableName = "tasks"

    public var id: String
    public var kind: String
    /// running, finished, failed or cancelled.
    public var state: String
    public var dispatcherNodeID: String
    public var baseModelHash: String
    public var datasetHash: String?
    public var configJSON: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, kind: String, state: String, dispatcherNodeID: String, baseModelHash: String,
                datasetHash: String?, configJSON: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.kind = kind
        self.state = state
        self.dispatcherNodeID = dispatcherNodeID
        self.baseModelHash = baseModelHash
        self.datasetHash = datasetHash
        self.configJSON = configJSON
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, state, dispatcherNodeID = "dispatcherNodeId", baseModelHash, datasetHash
        case configJSON = "configJson", createdAt, updatedAt
    }
}

extension Ledger {
    /// Inserts or replaces the task's row (one transaction).
    public func saveTask(_ task: TaskRecord) throws {
        try writer.write { db in try task.save(db) }
    }

    public func task(id: String) throws -> TaskRecord? {
        try writer.read { db in try TaskRecord.fetchOne(db, key: id) }
    }

    /// Tasks in `state`, oldest first.
    public func tasks(state: String) throws -> [TaskRecord] {
        try writer.read { db in
            try TaskRecord.filter(Column("state") == state).order(Column("created_at")).fetchAll(db)
        }
    }
}
