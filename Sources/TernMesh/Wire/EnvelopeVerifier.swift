/// Why a gossip datagram was dropped.
public enum DropReason: String, CaseIterable, Sendable, CustomStringConvertible {
    case oversize, truncated, malformed, unknownVersion, badSignature, replayed, staleSequence, clockSkew

    public var description: String { rawValue }
}

/// Checks incoming envelopes: size, version, structure, Ed25519 signature (bound to this
/// mesh), replayed or stale sequence numbers (a sliding window per verified sender) and
/// timestamps too far from the local wall clock. Pure: the caller passes the time. Drops are
/// counted per reason only: a sender named by a packet that failed a check is unverified,
/// and keying state by it would let anyone grow this node's tables.
public struct EnvelopeVerifier: Sendable {
    public enum Verdict: Equatable, Sendable {
        case accepted(GossipEnvelope)
        case dropped(DropReason)
    }

    public let mesh: MeshID
    /// Accepted distance between an envelope's timestamp and the local clock.
    public let maxClockSkewMillis: UInt64

    /// Replay windows of verified senders; the least recently heard is forgotten first
    /// (its next packet is then judged by the timestamp check alone).
    private var windows: LRUTable<NodeID, ReplayWindow>
    public private(set) var drops: [DropReason: Int] = [:]
    public private(set) var acceptedCount = 0

    public init(mesh: MeshID = .open, maxClockSkewMillis: UInt64 = 30_000, maxTrackedSenders: Int = 16_384) {
        self.mesh = mesh
        self.maxClockSkewMillis = maxClockSkewMillis
        self.windows = LRUTable(capacity: maxTrackedSenders)
    }

    public mutating func verify(_ packet: [UInt8], nowMillis: UInt64) -> Verdict {
        let envelope: GossipEnvelope
        do {
            envelope = try GossipEnvelope.parse(packet)
        } catch {
            switch error {
            case .oversize: return drop(.oversize)
            case .unknownVersion: return drop(.unknownVersion)
            case .malformed(.truncated): return drop(.truncated)
            case .malformed: return drop(.malformed)
            }
        }
        let sender = envelope.sender
        let message = GossipEnvelope.signedMessage(envelope.signedBytes, mesh: mesh)
        guard NodeIdentity.verify(signature: envelope.signature, message: message, signer: sender) else {
            return drop(.badSignature)
        }
        let skew = envelope.timestampMillis > nowMillis ? envelope.timestampMillis - nowMillis : nowMillis - envelope.timestampMillis
        guard skew <= maxClockSkewMillis else { return drop(.clockSkew) }
        var window = windows.peek(sender) ?? ReplayWindow()
        switch window.check(envelope.sequence) {
        case .replayed: return drop(.replayed)
        case .stale: return drop(.staleSequence)
        case .fresh: break
        }
        window.accept(envelope.sequence)
        windows.set(sender, window)
        acceptedCount += 1
        return .accepted(envelope)
    }

    public var trackedSenders: Int { windows.count }

    private mutating func drop(_ reason: DropReason) -> Verdict {
        drops[reason, default: 0] += 1
        return .dropped(reason)
    }
}
