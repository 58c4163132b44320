/// Which peers a fine-tune trains on, and how fast each counts as, from what the dispatcher
/// knows of them: their signed profiles and the receipts of jobs they ran for it.
///
/// Speeds only matter relative to each other (they size the shards), so one unit must rank
/// everybody: training tokens per second measured by receipts when every peer has them,
/// else the ternary GOPS each profile reports, discounted by the load it reports. A peer
/// whose credit this node ever revoked (it lied in a checked job) is not asked again; one
/// that reports too little free memory for the model is left out rather than run out of it.
public enum WorkerRanking {
    public struct Peer: Sendable, Equatable {
        public var id: String
        /// From the signed profile (0 when it has none yet).
        public var ternaryGOPS: Double
        public var loadPercent: Int
        public var ramAvailableBytes: UInt64?
        /// Tokens per second of the train jobs it ran for this node (accepted receipts).
        public var receiptTokensPerSecond: Double?
        /// Jobs whose credit this node revoked.
        public var revokedJobs: Int

        public init(id: String, ternaryGOPS: Double, loadPercent: Int = 0, ramAvailableBytes: UInt64? = nil,
                    receiptTokensPerSecond: Double? = nil, revokedJobs: Int = 0) {
            self.id = id
            self.ternaryGOPS = ternaryGOPS
            self.loadPercent = loadPercent
            self.ramAvailableBytes = ramAvailableBytes
            self.receiptTokensPerSecond = receiptTokensPerSecond
            self.revokedJobs = revokedJobs
        }
    }

    /// The peers worth asking, each with a positive speed, in the order given.
    /// `memoryNeeded`: bytes a worker must have free (nil: do not check).
    public static func candidates(_ peers: [Peer], memoryNeeded: UInt64? = nil) -> [WorkerCandidate] {
        let eligible = peers.filter { peer in
            peer.revokedJobs == 0 && (memoryNeeded.map { need in peer.ramAvailableBytes.map { $0 >= need } ?? true } ?? true)
        }
        let measured = eligible.allSatisfy { ($0.receiptTokensPerSecond ?? 0) > 0 }
        let raw = eligible.map { peer in
            measured ? peer.receiptTokensPerSecond! : peer.ternaryGOPS * (1 - Double(min(max(peer.loadPercent, 0), 90)) / 100)
        }
        // A peer without a figure yet counts as the slowest one known.
        let floor = raw.filter { $0 > 0 && $0.isFinite }.min() ?? 1
        return zip(eligible, raw).map { WorkerCandidate(id: $0.id, tokensPerSecond: $1 > 0 && $1.isFinite ? $1 : floor) }
    }
}
