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
        public init() {}
    }

    public enum Admission: Equatable, Sendable { case admitted, graylisted, rateLimited }

    public let settings: Settings
    private var scores: [NodeID: (score: Double, atMillis: UInt64)] = [:]
    private var buckets: [NodeID: TokenBucket] = [:]

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// The peer's score at `nowMillis`, decay applied.
    public func score(of peer: NodeID, nowMillis: UInt64) -> Double {
        guard let entry = scores[peer] else { return 0 }
        let seconds = Double(nowMillis &- entry.atMillis) / 1000
        return entry.score * pow(settings.decayPerSecond, max(0, seconds))
    }

    /// Whether to process a verified message from `peer` now (takes a rate-limit token).
    public mutating func admit(_ peer: NodeID, nowMillis: UInt64) -> Admission {
        guard score(of: peer, nowMillis: nowMillis) > settings.graylistThreshold else { return .graylisted }
        var bucket = buckets[peer] ?? TokenBucket(capacity: settings.burst, refillPerSecond: settings.messagesPerSecond, nowMillis: nowMillis)
        defer { buckets[peer] = bucket }
        return bucket.take(nowMillis: nowMillis) ? .admitted : .rateLimited
    }

    /// Records one invalid message that `peer` provably sent.
    public mutating func penalise(_ peer: NodeID, nowMillis: UInt64) {
        scores[peer] = (score(of: peer, nowMillis: nowMillis) + settings.invalidPenalty, nowMillis)
    }
}
