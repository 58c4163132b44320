/// Why a transport operation failed. Every handshake failure closes the connection.
public enum TransportError: Error, Equatable, CustomStringConvertible {
    case invalidIdentity(String)
    case malformedHandshake(String)
    case unexpectedPeer(expected: [UInt8]?, got: [UInt8])
    case badSignature
    case keyExchangeFailed
    case frameTooLarge(size: Int, limit: Int)
    case tamperedFrame
    case connectionClosed
    case concurrentReceive
    /// The peer did not finish the handshake (and, at an acceptor, name its protocol) in time.
    case handshakeTimeout
    /// No frame went either way for the connection's idle timeout.
    case idleTimeout
    /// The connector asked for a stream protocol the acceptor does not serve. The associated
    /// value is the id if it was a well-formed one, else a short note; never raw peer bytes.
    case unknownProtocol(String)
    /// A local caller passed a protocol id that is not 1…32 printable ASCII characters.
    case invalidProtocolID(String)
    /// The listener dropped this handshake to make room for one from a less busy address.
    case handshakeEvicted

    public var description: String {
        switch self {
        case .invalidIdentity(let why): "invalid transport identity: \(why)"
        case .malformedHandshake(let why): "malformed handshake message: \(why)"
        case .unexpectedPeer(let expected?, let got):
            "peer identity \(Hex.encode(got)) is not the expected \(Hex.encode(expected))"
        case .unexpectedPeer(nil, let got): "peer identity \(Hex.encode(got)) is not allowed"
        case .badSignature: "peer's handshake signature does not verify"
        case .keyExchangeFailed: "key exchange failed (invalid ephemeral public key)"
        case .frameTooLarge(let size, let limit): "frame of \(size) bytes exceeds the limit of \(limit) bytes"
        case .tamperedFrame: "frame failed authentication (tampered, reordered or wrong key)"
        case .connectionClosed: "connection closed without an orderly end of stream"
        case .concurrentReceive: "receive() called while another receive() is waiting on the same connection"
        case .handshakeTimeout: "peer did not complete the handshake in time"
        case .idleTimeout: "connection idle for too long (no frame either way)"
        case .unknownProtocol(let id): "peer asked for stream protocol \(id), which is not served here"
        case .invalidProtocolID(let id): "invalid stream protocol id \"\(id)\" (1…32 printable ASCII characters, no spaces)"
        case .handshakeEvicted: "handshake dropped to make room for a peer from a less busy address"
        }
    }
}
