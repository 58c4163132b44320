// TernLedger: the node's SQLite database (GRDB), schema by migrations.
import Foundation
import GRDB

/// The node's durable record of peers, profiles, models, adapters and distributed work.
///
/// The database connection is injected: the daemon opens a WAL-mode `DatabasePool` on disk
/// with `Ledger.open(path:)`; tests pass an in-memory `DatabaseQueue()`. Every method is one
/// transaction, so a record is either wholly committed or absent.
public struct Ledger: Sendable {
    public let writer: any DatabaseWriter

    /// Wraps `writer` and brings its schema up to date.
    public init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try LedgerSchema.migrator.migrate(writer)
    }

    /// Opens (creating if needed) the on-disk ledger at `path`.
    ///
    /// WAL mode with `synchronous=FULL`: every commit fsyncs the WAL before returning, so a
    /// committed record survives not only a killed process (which WAL with NORMAL would
    /// already survive) but also an OS crash or power loss right after the commit.
    public static func open(path: String) throws -> Ledger {
        do {
            let pool = try DatabasePool(path: path)
            // After the pool's own WAL setup, which picks NORMAL; only the single writer
            // connection commits, so only it needs the setting.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            return try Ledger(writer: pool)
        } catch {
            throw LedgerError.cannotOpen(path: path, underlying: "\(error)")
        }
    }

    /// `PRAGMA integrity_check` results; empty when the database file is sound.
    public func integrityProblems() throws -> [String] {
        try writer.read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
        }
    }

    // MARK: Peers and membership

    /// Inserts the peer, or updates every column of a known one except `firstSeen`.
    public func upsertPeer(_ peer: PeerRecord) throws {
        try writer.write { db in try Self.upsert(peer, in: db) }
    }

    static func upsert(_ peer: PeerRecord, in db: Database) throws {
        if let known = try PeerRecord.fetchOne(db, key: peer.nodeID) {
            var updated = peer
            updated.firstSeen = known.firstSeen
            try updated.update(db)
        } else {
            try peer.insert(db)
        }
    }

    /// Logs a membership state change and moves a known peer to its new state.
    /// A change for an unknown peer is still logged: the address may arrive later.
    public func recordMembershipChange(
        nodeID: String, from: PeerState?, to: PeerState, incarnation: Int64, at: Date
    ) throws {
        try writer.write { db in
            try MembershipEventRecord(nodeID: nodeID, fromState: from, toState: to, incarnation: incarnation, at: at)
                .insert(db)
            try db.execute(
                sql: "UPDATE peers SET state = ?, incarnation = ?, last_seen = MAX(last_seen, ?) WHERE node_id = ?",
                arguments: [to, incarnation, at, nodeID])
        }
    }

    public func peer(nodeID: String) throws -> PeerRecord? {
        try writer.read { db in try PeerRecord.fetchOne(db, key: nodeID) }
    }

    /// Membership changes of one node, oldest first.
    public func membershipEvents(nodeID: String) throws -> [MembershipEventRecord] {
        try writer.read { db in
            try MembershipEventRecord
                .filter(Column("node_id") == nodeID)
                .order(Column("at"), Column("id"))
                .fetchAll(db)
        }
    }

    /// What `mesh peers` lists: every known peer with its newest profile, live peers first,
    /// then by most recently seen.
    public func peerListing() throws -> [PeerListing] {
        try writer.read { db in
            let peers = try PeerRecord.fetchAll(db, sql: """
                SELECT * FROM peers
                ORDER BY CASE state WHEN 'alive' THEN 0 WHEN 'suspect' THEN 1 WHEN 'dead' THEN 2 ELSE 3 END,
                         last_seen DESC, node_id
                """)
            let profiles = try ProfileRecord.fetchAll(db)
            let profileByNode = Dictionary(uniqueKeysWithValues: profiles.map { ($0.nodeID, $0) })
            return peers.map { PeerListing(peer: $0, profile: profileByNode[$0.nodeID]) }
        }
    }

    // MARK: Profiles

    /// Stores `profile` unless the ledger already holds the same or a newer version for that
    /// node (gossip delivers profiles out of order). Returns whether it was stored.
    @discardableResult
    public func storeProfile(_ profile: ProfileRecord) throws -> Bool {
        try writer.write { db in try Self.store(profile, in: db) }
    }

    static func store(_ profile: ProfileRecord, in db: Database) throws -> Bool {
        if let held = try ProfileRecord.fetchOne(db, key: profile.nodeID), held.version >= profile.version { return false }
        try profile.save(db)
        return true
    }

    public func profile(nodeID: String) throws -> ProfileRecord? {
        try writer.read { db in try ProfileRecord.fetchOne(db, key: nodeID) }
    }

    // MARK: Models and adapters

    /// Records a model by content hash; registering the same hash again updates its metadata
    /// and path (the file may have moved).
    public func registerModel(_ model: ModelRecord) throws {
        try writer.write { db in try model.upsert(db) }
    }

    public func models() throws -> [ModelRecord] {
        try writer.read { db in try ModelRecord.order(Column("name")).fetchAll(db) }
    }

    public func model(contentHash: String) throws -> ModelRecord? {
        try writer.read { db in try ModelRecord.fetchOne(db, key: contentHash) }
    }

    /// Records an adapter. Its hash names its content, so registering a different record
    /// under a known hash is refused rather than silently overwriting history.
    public func registerAdapter(_ adapter: AdapterRecord) throws {
        try writer.write { db in
            if let known = try AdapterRecord.fetchOne(db, key: adapter.hash) {
                guard known == adapter else { throw LedgerError.conflictingAdapter(hash: adapter.hash) }
                return
            }
            try adapter.insert(db)
        }
    }

    /// Adapters trained on `baseModelHash`, newest first.
    public func adapters(baseModelHash: String) throws -> [AdapterRecord] {
        try writer.read { db in
            try AdapterRecord
                .filter(Column("base_model_hash") == baseModelHash)
                .order(Column("created_at").desc)
                .fetchAll(db)
        }
    }
}

/// A row of `mesh peers`: a peer and, when one has arrived, its newest hardware profile.
public struct PeerListing: Sendable, Equatable {
    public var peer: PeerRecord
    public var profile: ProfileRecord?
}

public enum LedgerError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, underlying: String)
    case conflictingAdapter(hash: String)
    /// Credit is given only for a receipt the requester has countersigned.
    case receiptNotCountersigned(jobID: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let underlying):
            "cannot open ledger database at \(path): \(underlying)"
        case .conflictingAdapter(let hash):
            "adapter \(hash) is already registered with different metadata"
        case .receiptNotCountersigned(let jobID):
            "receipt for job \(jobID) is not countersigned by its requester; only an accepted receipt earns credit"
        }
    }
}

// MARK: Batched membership writes

/// One membership fact for the ledger, queued by the mesh runtime and written in batches
/// (`Ledger.apply`), so the networking actor never waits on a disk sync.
public enum MembershipWrite: Sendable {
    /// A peer's new state: its row is created or updated (an empty `address` keeps the known
    /// one) and the change is logged.
    case memberChanged(nodeID: String, fingerprint: String, address: String, from: PeerState?, to: PeerState,
                       incarnation: Int64, score: Double, at: Date)
    /// A newer hardware profile.
    case profile(ProfileRecord)
    /// This node's own row (its incarnation must survive a restart).
    case selfRow(PeerRecord)
}

extension Ledger {
    /// Writes `batch` in one transaction: all of it is committed or none of it.
    public func apply(_ batch: [MembershipWrite]) throws {
        guard !batch.isEmpty else { return }
        try writer.write { db in
            for write in batch {
                switch write {
                case let .memberChanged(nodeID, fingerprint, address, from, to, incarnation, score, at):
                    if var known = try PeerRecord.fetchOne(db, key: nodeID) {
                        if !address.isEmpty { known.address = address }
                        known.state = to
                        known.incarnation = incarnation
                        known.lastSeen = max(known.lastSeen, at)
                        known.score = score
                        try known.update(db)
                    } else {
                        try PeerRecord(nodeID: nodeID, address: address, fingerprint: fingerprint, firstSeen: at, lastSeen: at,
                                       state: to, incarnation: incarnation, score: score).insert(db)
                    }
                    try MembershipEventRecord(nodeID: nodeID, fromState: from, toState: to, incarnation: incarnation, at: at)
                        .insert(db)
                case let .profile(profile):
                    _ = try Self.store(profile, in: db)
                case let .selfRow(peer):
                    try Self.upsert(peer, in: db)
                }
            }
        }
    }
}
