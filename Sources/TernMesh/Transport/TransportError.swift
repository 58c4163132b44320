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

    public var description: String {
        switch self {
        case .invalidIdentity(let why): "invalid transport identity: \(why)"
        case .malformedHandshake(let why): "malformed handshake message: \(why)"
        case .unexpectedPeer(let expected?, let got):
            "peer identity \(TransportIdentity.hex(got)) is not the expected \(TransportIdentity.hex(expected))"
        case .unexpectedPeer(nil, let got): "peer identity \(TransportIdentity.hex(got)) is not allowed"
        case .badSignature: "peer's handshake signature does not verify"
        case .keyExchangeFailed: "key exchange failed (invalid ephemeral public key)"
        case .frameTooLarge(let size, let limit): "frame of \(size) bytes exceeds the limit of \(limit) bytes"
        case .tamperedFrame: "frame failed authentication (tampered, reordered or wrong key)"
        case .connectionClosed: "connection closed without an orderly end of stream"
        case .concurrentReceive: "receive() called while another receive() is waiting on the same connection"
        }
    }
}
