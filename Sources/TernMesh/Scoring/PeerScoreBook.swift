import Foundation

/// Per-peer behaviour scores and rate limits, after gossipsub v1.1's peer scoring.
///
/// Invalid traffic that a peer provably sent (it carried the peer's valid signature: a
/// replay, a skewed clock, a body that does not decode) lowers its score; the score decays
/// back towards zero over time, so a peer that behaves recovers. Below `graylistThreshold`
/// all of the peer's messages are ignored. Independently, a token bucket per peer caps how
/// many messages it can make this node process per second. Forged signatures are *not*
/// scored against the claimed sender: anyone can claim any sender, and scoring them would
/// let an attacker silence honest peers.
public struct PeerScoreBook: Sendable {
    public struct Settings: Sendable {
        /// Score change per invalid message.
        public var invalidPenalty: Double = -10
        /// Fraction of the score kept after each second (decay towards zero).
        public var decayPerSecond: Double = 0.99
        /// At or below this score, the peer's messages are ignored.
        public var graylistThreshold: Double = -100
        /// Burst and sustained rate of the per-peer token bucket (messages).
        public var burst: Double = 50
        public var messagesPerSecond: Double = 20
        /// Peers whose score and bucket are remembered; the least recently heard is
        /// forgotten first (a fresh key costs an attacker nothing, so this must be bounded).
        public var maxTrackedPeers = 16_384
        public init() {}
    }

    public enum Admission: Equatable, Sendable { case admitted, graylisted, rateLimited }

    public let settings: Settings
    private struct Entry: Sendable {
        var score: Double
        var scoredAtMillis: UInt64
        var bucket: TokenBucket
    }
    private var peers: LRUTable<NodeID, Entry>

    public init(settings: Settings = Settings()) {
        self.settings = settings
        self.peers = LRUTable(capacity: settings.maxTrackedPeers)
    }

    /// The peer's score at `nowMillis`, decay applied.
    public func score(of peer: NodeID, nowMillis: UInt64) -> Double {
        guard let entry = peers.peek(peer) else { return 0 }
        return Self.decayed(entry, rate: settings.decayPerSecond, nowMillis: nowMillis)
    }

    public var trackedPeers: Int { peers.count }

    /// Whether to process a verified message from `peer` now (takes a rate-limit token).
    public mutating func admit(_ peer: NodeID, nowMillis: UInt64) -> Admission {
        guard score(of: peer, nowMillis: nowMillis) > settings.graylistThreshold else { return .graylisted }
        let fresh = fresh(nowMillis)
        return peers.update(peer, default: { fresh }) { entry in
            entry.bucket.take(nowMillis: nowMillis) ? .admitted : .rateLimited
        }
    }

    /// Records one invalid message that `peer` provably sent.
    public mutating func penalise(_ peer: NodeID, nowMillis: UInt64) {
        let (penalty, decay, fresh) = (settings.invalidPenalty, settings.decayPerSecond, fresh(nowMillis))
        peers.update(peer, default: { fresh }) { entry in
            entry.score = Self.decayed(entry, rate: decay, nowMillis: nowMillis) + penalty
            entry.scoredAtMillis = nowMillis
        }
    }

    private func fresh(_ nowMillis: UInt64) -> Entry {
        Entry(score: 0, scoredAtMillis: nowMillis,
              bucket: TokenBucket(capacity: settings.burst, refillPerSecond: settings.messagesPerSecond, nowMillis: nowMillis))
    }

    private static func decayed(_ entry: Entry, rate: Double, nowMillis: UInt64) -> Double {
        let seconds = nowMillis > entry.scoredAtMillis ? Double(nowMillis - entry.scoredAtMillis) / 1000 : 0
        return entry.score * pow(rate, seconds)
    }
}
