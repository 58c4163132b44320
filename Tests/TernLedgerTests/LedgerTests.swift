import Foundation
import GRDB
import TernLedger
import Testing

@Suite struct LedgerTests {
    let ledger: Ledger
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    init() throws {
        ledger = try Ledger(writer: DatabaseQueue())
    }

    func peer(_ id: String, state: PeerState = .alive, lastSeen: Date? = nil, incarnation: Int64 = 0) -> PeerRecord {
        PeerRecord(nodeID: id, address: "127.0.0.1:7946", fingerprint: String(id.prefix(8)),
                   firstSeen: t0, lastSeen: lastSeen ?? t0, state: state, incarnation: incarnation)
    }

    func profile(_ id: String, version: Int64, cores: Int = 8) -> ProfileRecord {
        ProfileRecord(nodeID: id, version: version, signedBytes: Data([1, 2, UInt8(version)]), deviceClass: "server",
                      cores: cores, ramBytes: 64 << 30, isa: ["avx2", "avx512f"], kernelClass: "avx512", gpusJSON: "[]", gops: 12.5,
                      receivedAt: t0)
    }

    @Test func migrationsCreateEveryTable() throws {
        let tables = try ledger.writer.read { db in
            try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        for table in ["peers", "profiles", "membership_events", "models", "adapters",
                      "tasks", "rounds", "shards", "receipts", "credits"] {
            #expect(tables.contains(table), "missing table \(table)")
        }
        #expect(try ledger.integrityProblems().isEmpty)
    }

    @Test func upsertPeerKeepsFirstSeenAndUpdatesTheRest() throws {
        try ledger.upsertPeer(peer("aa"))
        var moved = peer("aa", lastSeen: t0.addingTimeInterval(60), incarnation: 3)
        moved.firstSeen = t0.addingTimeInterval(60)
        moved.address = "10.0.0.2:7946"
        try ledger.upsertPeer(moved)

        let stored = try #require(try ledger.peer(nodeID: "aa"))
        #expect(stored.firstSeen == t0)
        #expect(stored.lastSeen == t0.addingTimeInterval(60))
        #expect(stored.address == "10.0.0.2:7946")
        #expect(stored.incarnation == 3)
    }

    @Test func membershipChangeIsLoggedAndMovesThePeer() throws {
        try ledger.upsertPeer(peer("bb"))
        try ledger.recordMembershipChange(nodeID: "bb", from: .alive, to: .suspect, incarnation: 1, at: t0.addingTimeInterval(5))
        try ledger.recordMembershipChange(nodeID: "bb", from: .suspect, to: .dead, incarnation: 1, at: t0.addingTimeInterval(9))
        try ledger.recordMembershipChange(nodeID: "unknown", from: nil, to: .alive, incarnation: 0, at: t0)

        let events = try ledger.membershipEvents(nodeID: "bb")
        #expect(events.map(\.toState) == [.suspect, .dead])
        #expect(events.map(\.fromState) == [.alive, .suspect])
        let stored = try #require(try ledger.peer(nodeID: "bb"))
        #expect(stored.state == .dead)
        #expect(stored.incarnation == 1)
        #expect(stored.lastSeen == t0.addingTimeInterval(9))
        #expect(try ledger.membershipEvents(nodeID: "unknown").count == 1)
        #expect(try ledger.peer(nodeID: "unknown") == nil)
    }

    @Test func storeProfileKeepsTheNewestVersion() throws {
        #expect(try ledger.storeProfile(profile("cc", version: 2, cores: 16)))
        #expect(try !ledger.storeProfile(profile("cc", version: 1, cores: 4)))
        #expect(try !ledger.storeProfile(profile("cc", version: 2, cores: 4)))
        #expect(try ledger.profile(nodeID: "cc")?.cores == 16)
        #expect(try ledger.storeProfile(profile("cc", version: 3, cores: 32)))
        let stored = try #require(try ledger.profile(nodeID: "cc"))
        #expect(stored == profile("cc", version: 3, cores: 32))
        #expect(stored.isa == ["avx2", "avx512f"])
        #expect(stored.kernelClass == "avx512")
    }

    @Test func peerListingPutsLivePeersFirstWithTheirProfiles() throws {
        try ledger.upsertPeer(peer("dead1", state: .dead, lastSeen: t0.addingTimeInterval(100)))
        try ledger.upsertPeer(peer("old", lastSeen: t0))
        try ledger.upsertPeer(peer("new", lastSeen: t0.addingTimeInterval(50)))
        try ledger.upsertPeer(peer("sus", state: .suspect, lastSeen: t0.addingTimeInterval(200)))
        try ledger.storeProfile(profile("new", version: 1))

        let listing = try ledger.peerListing()
        #expect(listing.map(\.peer.nodeID) == ["new", "old", "sus", "dead1"])
        #expect(listing[0].profile?.version == 1)
        #expect(listing[1].profile == nil)
    }

    @Test func modelsAreKeyedByContentHash() throws {
        let model = ModelRecord(contentHash: "m1", name: "SmolLM2-135M", architecture: "llama", fileSize: 1000,
                                tensorTypes: ["Q4_1", "F32"], path: "/tmp/a.gguf")
        try ledger.registerModel(model)
        var moved = model
        moved.path = "/tmp/b.gguf"
        try ledger.registerModel(moved)
        #expect(try ledger.models() == [moved])
        #expect(try ledger.model(contentHash: "m1")?.tensorTypes == ["Q4_1", "F32"])
    }

    @Test func adaptersAreImmutableByHash() throws {
        let adapter = AdapterRecord(hash: "a1", baseModelHash: "m1", rank: 8, alpha: 16, modules: ["attn_q", "attn_v"],
                                    datasetHash: "d1", metricsJSON: #"{"val_loss":1.5}"#, blobHash: "b1", createdAt: t0)
        try ledger.registerAdapter(adapter)
        try ledger.registerAdapter(adapter)
        var changed = adapter
        changed.rank = 16
        #expect(throws: LedgerError.conflictingAdapter(hash: "a1")) { try ledger.registerAdapter(changed) }

        let newer = AdapterRecord(hash: "a2", baseModelHash: "m1", rank: 4, alpha: 8, modules: ["ffn_up"],
                                  datasetHash: nil, blobHash: "b2", createdAt: t0.addingTimeInterval(10))
        try ledger.registerAdapter(newer)
        #expect(try ledger.adapters(baseModelHash: "m1").map(\.hash) == ["a2", "a1"])
        #expect(try ledger.adapters(baseModelHash: "other").isEmpty)
    }

    @Test func workTablesEnforceTheirKeys() throws {
        try ledger.writer.write { db in
            try db.execute(sql: """
                INSERT INTO tasks (id, kind, state, dispatcher_node_id, base_model_hash, created_at, updated_at)
                VALUES ('t1', 'finetune', 'running', 'aa', 'm1', ?, ?)
                """, arguments: [t0, t0])
            try db.execute(sql: "INSERT INTO rounds (task_id, round_index, state, started_at, deadline) VALUES ('t1', 0, 'open', ?, ?)",
                           arguments: [t0, t0])
            try db.execute(sql: "INSERT INTO shards (task_id, round_index, shard_index, state) VALUES ('t1', 0, 0, 'pending')")
        }
        // A shard of a round that does not exist violates the foreign key.
        #expect(throws: DatabaseError.self) {
            try ledger.writer.write { db in
                try db.execute(sql: "INSERT INTO shards (task_id, round_index, shard_index, state) VALUES ('t1', 7, 0, 'pending')")
            }
        }
    }

    @Test func openReportsABadPath() {
        #expect(throws: LedgerError.self) { try Ledger.open(path: "/nonexistent-dir/ledger.sqlite") }
    }

    @Test func onDiskLedgerUsesWALAndFullSync() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tern-ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ledger = try Ledger.open(path: dir.appendingPathComponent("ledger.sqlite").path)
        let (mode, sync) = try ledger.writer.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(mode == "wal")
        #expect(sync == 2)  // FULL
    }
}
