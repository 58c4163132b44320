/// `tern fuzz envelope`: gossip datagrams through `GossipEnvelope.parse` and the whole
/// `EnvelopeVerifier` (size, version, structure, Ed25519 signature, clock, replay window).
///
/// Invariants checked on every input:
/// - a parsed envelope re-encodes to exactly the input (one encoding per envelope);
/// - the verifier accepts only envelopes that were really signed, i.e. the samples
///   byte for byte: no mutation of a signed datagram may verify.
public struct EnvelopeFuzzTarget: FuzzTarget {
    public let name = "envelope"
    public let samples: [[UInt8]]
    private let signed: Set<[UInt8]>
    /// One verifier for the whole run, as in a node: its replay windows fill up, so repeats
    /// of a sample are dropped as replayed or stale after the first is accepted.
    private var verifier = EnvelopeVerifier(mesh: MeshFuzzSamples.mesh)

    public init() {
        samples = MeshFuzzSamples.envelopes
        signed = Set(samples)
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        if let envelope = try? GossipEnvelope.parse(input) {
            var writer = WireWriter(capacity: input.count)
            writer.u8(envelope.version)
            writer.nodeID(envelope.sender)
            writer.u64(envelope.sequence)
            writer.u64(envelope.timestampMillis)
            writer.blob(envelope.body)
            guard writer.bytes == envelope.signedBytes, envelope.signedBytes + envelope.signature == input else {
                return .violation("a parsed envelope does not re-encode to its input")
            }
        }
        switch verifier.verify(input, nowMillis: MeshFuzzSamples.nowMillis) {
        case .accepted:
            return signed.contains(input) ? .accepted("verified") : .violation("verified an envelope nobody signed")
        case let .dropped(reason):
            return .rejected(reason.rawValue)
        }
    }
}
