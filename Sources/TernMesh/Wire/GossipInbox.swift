/// The receive path for gossip datagrams, pure: the source address's rate limit (before any
/// parsing or signature work), envelope checks (`EnvelopeVerifier`), then the verified
/// sender's score and rate limit (`PeerScoreBook`), then decoding the SWIM message.
/// The UDP shell calls `accept` for each datagram and hands `.deliver` results to its
/// `SWIMInstance`; `.invalidRecord` directives from the instance go to `reportInvalid`.
public struct GossipInbox: Sendable {
    public enum Outcome: Equatable, Sendable {
        case deliver(SWIMMessage, from: NodeID)
        case dropped(Drop)
    }

    public enum Drop: Equatable, Sendable {
        /// The source address sent more than its share before any check.
        case sourceRateLimited
        /// Failed an envelope check (see `DropReason`).
        case envelope(DropReason)
        /// The sender's score is below the graylist threshold.
        case graylisted(NodeID)
        /// The sender exceeded its message rate.
        case rateLimited(NodeID)
        /// Validly signed, but the body is not a SWIM message: only the key holder can
        /// produce that, so it costs the sender score.
        case undecodableBody(NodeID, WireError)

        /// The counter name (`tern node status --json`, `dropped`).
        public var reason: String {
            switch self {
            case .sourceRateLimited: "sourceRateLimited"
            case let .envelope(why): why.rawValue
            case .graylisted: "graylisted"
            case .rateLimited: "rateLimited"
            case .undecodableBody: "undecodableBody"
            }
        }
    }

    /// Flood control per source address, before the Ed25519 check.
    public struct SourceLimits: Sendable {
        public var burst: Double = 400
        public var datagramsPerSecond: Double = 200
        /// Source addresses remembered; the least recently seen is forgotten first.
        public var maxTrackedSources = 4_096
        public init() {}
    }

    public private(set) var verifier: EnvelopeVerifier
    public private(set) var scores: PeerScoreBook
    public let sourceLimits: SourceLimits
    private var sources: LRUTable<String, TokenBucket>

    public init(verifier: EnvelopeVerifier = EnvelopeVerifier(), scores: PeerScoreBook = PeerScoreBook(),
                sourceLimits: SourceLimits = SourceLimits()) {
        self.verifier = verifier
        self.scores = scores
        self.sourceLimits = sourceLimits
        self.sources = LRUTable(capacity: sourceLimits.maxTrackedSources)
    }

    /// - Parameter source: the datagram's source IP address (without the port: one host
    ///   sending from many ports is still one source).
    public mutating func accept(_ packet: [UInt8], source: String, nowMillis now: UInt64) -> Outcome {
        let limits = sourceLimits
        let withinRate = sources.update(source, default: {
            TokenBucket(capacity: limits.burst, refillPerSecond: limits.datagramsPerSecond, nowMillis: now)
        }) { $0.take(nowMillis: now) }
        guard withinRate else { return .dropped(.sourceRateLimited) }
        let envelope: GossipEnvelope
        switch verifier.verify(packet, nowMillis: now) {
        case let .dropped(reason):
            // Not scored: forgeries name someone else, and anyone on the path can replay a
            // peer's old datagrams (stale, replayed or skewed) in its name.
            return .dropped(.envelope(reason))
        case let .accepted(accepted):
            envelope = accepted
        }
        let sender = envelope.sender
        switch scores.admit(sender, nowMillis: now) {
        case .graylisted: return .dropped(.graylisted(sender))
        case .rateLimited: return .dropped(.rateLimited(sender))
        case .admitted: break
        }
        do {
            return .deliver(try SWIMMessage(decoding: envelope.body), from: sender)
        } catch {
            scores.penalise(sender, nowMillis: now)
            return .dropped(.undecodableBody(sender, error))
        }
    }

    public var trackedSources: Int { sources.count }

    /// A record inside a delivered message failed validation (`SWIMDirective.invalidRecord`).
    public mutating func reportInvalid(from peer: NodeID, nowMillis now: UInt64) {
        scores.penalise(peer, nowMillis: now)
    }
}
