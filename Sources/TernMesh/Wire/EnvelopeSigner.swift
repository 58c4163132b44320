/// Produces the 64-byte signature that closes a gossip envelope.
public protocol EnvelopeSigner: Sendable {
    var nodeID: NodeID { get }
    func sign(_ message: [UInt8]) -> [UInt8]
}

extension NodeIdentity: EnvelopeSigner {}

/// For the simulator only: writes 64 zero bytes where the Ed25519 signature goes, so packet
/// sizes (and byte counts) are exact while 10,000 simulated nodes skip the signing cost.
/// Envelopes it makes never pass `EnvelopeVerifier`.
public struct UnsignedSimulationSigner: EnvelopeSigner {
    public let nodeID: NodeID
    public init(nodeID: NodeID) { self.nodeID = nodeID }
    public func sign(_ message: [UInt8]) -> [UInt8] { [UInt8](repeating: 0, count: NodeIdentity.signatureByteCount) }
}
