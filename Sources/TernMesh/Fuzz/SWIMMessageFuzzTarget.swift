/// `tern fuzz swim-message`: envelope bodies through `SWIMMessage(decoding:)`, which also
/// decodes every piggybacked membership record and signed hardware profile.
///
/// Invariant: an accepted message re-encodes to exactly the input.
public struct SWIMMessageFuzzTarget: FuzzTarget {
    public let name = "swim-message"
    public let samples: [[UInt8]]

    public init() {
        samples = MeshFuzzSamples.swimMessages.map { $0.encoded() }
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        let message: SWIMMessage
        do {
            message = try SWIMMessage(decoding: input)
        } catch {
            return .rejected(error.fuzzLabel)
        }
        guard message.encoded() == input else { return .violation("a decoded message does not re-encode to its input") }
        switch message.kind {
        case .ping: return .accepted("ping")
        case .pingRequest: return .accepted("pingRequest")
        case .ack: return .accepted("ack")
        case .nack: return .accepted("nack")
        }
    }
}
