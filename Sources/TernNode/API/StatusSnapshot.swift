import Foundation

/// `GET /status.json`: everything the status page draws, in one read.
public struct StatusSnapshot: Codable, Sendable, Equatable {
    public struct Node: Codable, Sendable, Equatable {
        public var nodeID: String
        public var fingerprint: String
        public var version: String
        public var gossipAddress: String
        public var uptimeSeconds: Double
        public var membersAlive: Int
        public var membersSuspect: Int
        public var membersDead: Int
    }

    /// A fine-tune as the page draws it: round progress and the loss curve.
    public struct FineTune: Codable, Sendable, Equatable {
        public var id: String
        public var state: String
        public var roundsDone: Int
        public var rounds: Int
        public var workers: Int
        /// Each completed round's token-weighted mean loss, in order: the curve.
        public var losses: [Double]
        /// The shards of the round in progress.
        public var running: [ShardProgress]
        public var banned: Int
        public var startedAt: Date
        public var error: String?
    }

    public var node: Node
    public var members: [MemberSummary]
    /// Names of the blobs ids this node holds (the page names models it knows).
    public var modelNames: [String: String]
    public var fineTunes: [FineTune]
    public var receipts: [ReceiptSummary]
    public var credits: [CreditSummary]
    public var generatedAt: Date

    /// Fine-tunes shown: every running one and the newest few that ended.
    static let endedFineTunesShown = 5
    static let receiptsShown = 20

    public static func gather(from observer: some NodeObserver) async -> StatusSnapshot {
        let status = await observer.status()
        let fineTunes = observer.fineTunes()
        let running = fineTunes.filter { $0.state == "running" }
        let ended = fineTunes.filter { $0.state != "running" }.prefix(endedFineTunesShown)
        var names: [String: String] = [:]
        for blob in observer.localModels() { if let name = blob.name { names[blob.id.hex] = name } }
        return StatusSnapshot(
            node: Node(nodeID: status.nodeID, fingerprint: status.fingerprint, version: status.version,
                       gossipAddress: status.gossipAddress, uptimeSeconds: status.uptimeSeconds,
                       membersAlive: status.membersAlive, membersSuspect: status.membersSuspect,
                       membersDead: status.membersDead),
            members: await observer.members(),
            modelNames: names,
            fineTunes: (running + ended).map(FineTune.init),
            receipts: observer.receipts(limit: receiptsShown),
            credits: observer.credits(),
            generatedAt: Date())
    }
}

extension StatusSnapshot.FineTune {
    init(_ status: FineTuneStatus) {
        self.init(id: status.id, state: status.state, roundsDone: status.completed.count, rounds: status.rounds,
                  workers: status.workers.count, losses: status.completed.map(\.meanLoss).map { $0.isFinite ? $0 : 0 },
                  running: status.running ?? [], banned: status.banned.count, startedAt: status.startedAt,
                  error: status.error)
    }
}
