/// Why a gossip datagram was dropped.
public enum DropReason: String, CaseIterable, Sendable, CustomStringConvertible {
    case oversize, truncated, malformed, unknownVersion, badSignature, replayed, staleSequence, clockSkew

    public var description: String { rawValue }
}

/// Checks incoming envelopes: size, version, structure, Ed25519 signature, replayed or
/// stale sequence numbers (a sliding window per sender) and timestamps too far from the
/// local clock. Pure: the caller passes the current time. Every drop is counted, per sender
/// where the sender can be read, and nothing here can trap on input.
public struct EnvelopeVerifier: Sendable {
    public enum Verdict: Equatable, Sendable {
        case accepted(GossipEnvelope)
        /// `sender` is the claimed sender when the packet got far enough to name one.
        case dropped(DropReason, sender: NodeID?)
    }

    /// Accepted distance between an envelope's timestamp and the local clock.
    public let maxClockSkewMillis: UInt64
    /// Senders whose replay window is remembered; beyond this the least recently accepted
    /// sender is forgotten (its next packet is then judged by the timestamp check alone).
    public let maxTrackedSenders: Int

    private var windows: [NodeID: ReplayWindow] = [:]
    private var lastAccepted: [NodeID: UInt64] = [:]
    public private(set) var dropsBySender: [NodeID: [DropReason: Int]] = [:]
    /// Drops of packets too damaged to name a sender.
    public private(set) var unattributedDrops: [DropReason: Int] = [:]
    public private(set) var acceptedCount = 0

    public init(maxClockSkewMillis: UInt64 = 30_000, maxTrackedSenders: Int = 100_000) {
        self.maxClockSkewMillis = maxClockSkewMillis
        self.maxTrackedSenders = maxTrackedSenders
    }

    public mutating func verify(_ packet: [UInt8], nowMillis: UInt64) -> Verdict {
        let envelope: GossipEnvelope
        do {
            envelope = try GossipEnvelope.parse(packet)
        } catch {
            let reason: DropReason
            switch error {
            case .oversize: reason = .oversize
            case .unknownVersion: reason = .unknownVersion
            case .malformed(.truncated): reason = .truncated
            case .malformed: reason = .malformed
            }
            return drop(reason, sender: claimedSender(packet))
        }
        let sender = envelope.sender
        guard NodeIdentity.verify(signature: envelope.signature, message: envelope.signedBytes, signer: sender) else {
            return drop(.badSignature, sender: sender)
        }
        let skew = envelope.timestampMillis > nowMillis ? envelope.timestampMillis - nowMillis : nowMillis - envelope.timestampMillis
        guard skew <= maxClockSkewMillis else { return drop(.clockSkew, sender: sender) }
        let window = windows[sender] ?? ReplayWindow()
        switch window.check(envelope.sequence) {
        case .replayed: return drop(.replayed, sender: sender)
        case .stale: return drop(.staleSequence, sender: sender)
        case .fresh: break
        }
        remember(sender, window: window, sequence: envelope.sequence, nowMillis: nowMillis)
        acceptedCount += 1
        return .accepted(envelope)
    }

    public func drops(from sender: NodeID, reason: DropReason) -> Int { dropsBySender[sender]?[reason] ?? 0 }

    private mutating func remember(_ sender: NodeID, window: ReplayWindow, sequence: UInt64, nowMillis: UInt64) {
        if windows[sender] == nil, windows.count >= maxTrackedSenders,
           let oldest = lastAccepted.min(by: { $0.value < $1.value })?.key {
            windows[oldest] = nil
            lastAccepted[oldest] = nil
        }
        var updated = window
        updated.accept(sequence)
        windows[sender] = updated
        lastAccepted[sender] = nowMillis
    }

    private mutating func drop(_ reason: DropReason, sender: NodeID?) -> Verdict {
        if let sender {
            dropsBySender[sender, default: [:]][reason, default: 0] += 1
        } else {
            unattributedDrops[reason, default: 0] += 1
        }
        return .dropped(reason, sender: sender)
    }

    /// The sender field of a damaged packet, if the packet is long enough to hold one.
    private func claimedSender(_ packet: [UInt8]) -> NodeID? {
        guard packet.count >= 1 + NodeID.byteCount else { return nil }
        return NodeID(bytes: packet[1...NodeID.byteCount])
    }
}
