import NIOCore

/// `tern fuzz handshake`: what a listening node reads from a new TCP connection, through the
/// acceptor's side of the secure-stream handshake.
///
/// An input is the byte stream a connector would send: length-prefixed frames cut by the
/// transport's own frame decoder, the first fed to `SecureHandshake.receiveHello`, the second
/// to `receiveAuthentication`, and any further ones opened as encrypted stream frames until
/// the one that ends the stream. Each input gets a fresh acceptor (with the fixed ephemeral
/// key of the samples, so their signatures verify) that admits any peer key, so mutated
/// identities reach the key exchange and the signature check.
///
/// Invariant: only the samples' connector can complete a handshake, since only it holds
/// the key its signature needs.
///
/// This type is TernMesh's public entry point to the handshake for fuzzing: it exposes a
/// verdict per input, never a key or a stream.
public struct HandshakeFuzzTarget: FuzzTarget {
    public let name = "handshake"
    public let samples: [[UInt8]]
    private let acceptorIdentity = MeshFuzzSamples.handshakeAcceptor.transportIdentity
    private let connectorKey = MeshFuzzSamples.handshakeConnector.nodeID.bytes
    private let maxFramePayload = SecureConnection.defaultMaxFrameSize + SecureConnection.streamOverhead

    public init() {
        samples = MeshFuzzSamples.handshakeStreams
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        var stream = ByteBuffer(bytes: input)
        do {
            let acceptor = SecureHandshake(role: .acceptor, identity: acceptorIdentity,
                                           ephemeralSeed: MeshFuzzSamples.acceptorEphemeralSeed)
            // Before authentication only handshake-sized frames are read, as on a socket.
            let peer = try acceptor.receiveHello(try nextFrame(&stream, limit: SecureHandshake.helloSize), requirement: .allowedBy { _ in true })
            _ = acceptor.authentication()
            let receiver = try acceptor.receiveAuthentication(try nextFrame(&stream, limit: SecureHandshake.authSize))
            guard peer == connectorKey else { return .violation("a handshake authenticated a key that signed nothing") }
            var opened = 0
            while let frame = try LengthPrefixedFrameDecoder.takeFrame(from: &stream, maxPayload: maxFramePayload) {
                let (_, isFinal) = try receiver.open(Array(buffer: frame))
                if isFinal { return .accepted("streamEnded") }
                opened += 1
            }
            return .accepted(opened == 0 ? "authenticated" : "framesOpened")
        } catch let error as TransportError {
            return .rejected(error.fuzzLabel)
        } catch {
            return .rejected("other")
        }
    }

    /// The next whole frame, or `connectionClosed` when the input ends first (the peer hung up).
    private func nextFrame(_ stream: inout ByteBuffer, limit: Int) throws -> [UInt8] {
        guard let frame = try LengthPrefixedFrameDecoder.takeFrame(from: &stream, maxPayload: limit) else {
            throw TransportError.connectionClosed
        }
        return Array(buffer: frame)
    }
}
