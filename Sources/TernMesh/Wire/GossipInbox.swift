/// The receive path for gossip datagrams, pure: envelope checks (`EnvelopeVerifier`), then
/// the sender's score and rate limit (`PeerScoreBook`), then decoding the SWIM message.
/// The UDP shell calls `accept` for each datagram and hands `.deliver` results to its
/// `SWIMInstance`; `.invalidRecord` directives from the instance go to `reportInvalid`.
public struct GossipInbox: Sendable {
    public enum Outcome: Equatable, Sendable {
        case deliver(SWIMMessage, from: NodeID)
        case dropped(Drop)
    }

    public enum Drop: Equatable, Sendable {
        /// Failed an envelope check (see `DropReason`).
        case envelope(DropReason, sender: NodeID?)
        /// The sender's score is below the graylist threshold.
        case graylisted(NodeID)
        /// The sender exceeded its message rate.
        case rateLimited(NodeID)
        /// Validly signed, but the body is not a SWIM message: only the key holder can
        /// produce that, so it costs the sender score.
        case undecodableBody(NodeID, WireError)
    }

    public private(set) var verifier: EnvelopeVerifier
    public private(set) var scores: PeerScoreBook

    public init(verifier: EnvelopeVerifier = EnvelopeVerifier(), scores: PeerScoreBook = PeerScoreBook()) {
        self.verifier = verifier
        self.scores = scores
    }

    public mutating func accept(_ packet: [UInt8], nowMillis now: UInt64) -> Outcome {
        let envelope: GossipEnvelope
        switch verifier.verify(packet, nowMillis: now) {
        case let .dropped(reason, sender):
            // Not scored: forgeries name someone else, and anyone on the path can replay a
            // peer's old datagrams (stale, replayed or skewed) in its name.
            return .dropped(.envelope(reason, sender: sender))
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

    /// A record inside a delivered message failed validation (`SWIMDirective.invalidRecord`).
    public mutating func reportInvalid(from peer: NodeID, nowMillis now: UInt64) {
        scores.penalise(peer, nowMillis: now)
    }
}
