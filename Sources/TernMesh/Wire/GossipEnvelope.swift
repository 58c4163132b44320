/// The signed wrapper around every gossip datagram (layout in docs/protocol.md):
///
///     version u8 | sender 32 B | sequence u64 | timestamp u64 (ms) | body u16-length + bytes | signature 64 B
///
/// The signature covers a context string, the mesh id (never sent) and every byte before
/// it, exactly as sent: an envelope made for another mesh, or by someone who does not hold
/// this mesh's key, never verifies.
public struct GossipEnvelope: Equatable, Sendable {
    public static let currentVersion: UInt8 = 2
    static let signingContext: [UInt8] = Array("tern/envelope/2".utf8)
    /// Bytes an envelope adds around its body.
    public static let overheadBytes = 1 + NodeID.byteCount + 8 + 8 + 2 + NodeIdentity.signatureByteCount
    /// Largest body that still fits one datagram.
    public static let maxBodyBytes = WireLimits.maxPacketBytes - overheadBytes

    public let version: UInt8
    public let sender: NodeID
    public let sequence: UInt64
    public let timestampMillis: UInt64
    public let body: [UInt8]
    public let signature: [UInt8]
    /// The exact bytes the signature covers.
    public let signedBytes: [UInt8]

    /// Encodes and signs `body` for `mesh`; the result is the datagram to send.
    public static func seal(body: [UInt8], sequence: UInt64, timestampMillis: UInt64, signer: some EnvelopeSigner,
                            mesh: MeshID = .open) -> [UInt8] {
        precondition(body.count <= maxBodyBytes, "gossip body larger than one datagram")
        var writer = WireWriter(capacity: body.count + overheadBytes)
        writer.u8(currentVersion)
        writer.nodeID(signer.nodeID)
        writer.u64(sequence)
        writer.u64(timestampMillis)
        writer.blob(body)
        var packet = writer.bytes
        packet.append(contentsOf: signer.sign(signedMessage(packet, mesh: mesh)))
        return packet
    }

    /// What the signature covers: context ‖ mesh id ‖ the envelope up to its signature.
    static func signedMessage(_ envelopeBytes: [UInt8], mesh: MeshID) -> [UInt8] {
        signingContext + mesh.bytes + envelopeBytes
    }

    /// Parses a datagram without checking the signature (see `EnvelopeVerifier`).
    /// Throws `EnvelopeError` for oversize, truncated, unknown-version or malformed packets.
    public static func parse(_ packet: [UInt8]) throws(EnvelopeError) -> GossipEnvelope {
        guard packet.count <= WireLimits.maxPacketBytes else { throw .oversize(packet.count) }
        guard let version = packet.first else { throw .malformed(.truncated(field: "version", needed: 1, available: 0)) }
        guard version == currentVersion else { throw .unknownVersion(version) }
        do {
            var reader = WireReader(packet, offset: 1)
            let sender = try reader.nodeID("sender")
            let sequence = try reader.u64("sequence")
            let timestamp = try reader.u64("timestamp")
            let body = try reader.blob("body", maxBytes: maxBodyBytes)
            let signedEnd = reader.offset
            let signature = try reader.fixed(NodeIdentity.signatureByteCount, "signature")
            try reader.expectEnd()
            return GossipEnvelope(version: version, sender: sender, sequence: sequence, timestampMillis: timestamp,
                                  body: body, signature: signature, signedBytes: Array(packet[0..<signedEnd]))
        } catch {
            throw .malformed(error)
        }
    }
}

/// Why a datagram was not accepted as an envelope.
public enum EnvelopeError: Error, Equatable, CustomStringConvertible {
    case oversize(Int)
    case unknownVersion(UInt8)
    case malformed(WireError)

    public var description: String {
        switch self {
        case let .oversize(size): return "packet of \(size) bytes exceeds \(WireLimits.maxPacketBytes)"
        case let .unknownVersion(version): return "unknown envelope version \(version)"
        case let .malformed(error): return "malformed envelope: \(error)"
        }
    }
}
