import CSodium

/// Which peer identities a side of a secure stream will talk to.
public enum PeerRequirement: Sendable {
    /// Only this Ed25519 public key (a dialler knows whom it called).
    case exactly([UInt8])
    /// Any key the predicate allows (a listener admitting known mesh members).
    case allowedBy(@Sendable ([UInt8]) -> Bool)

    func check(_ peer: [UInt8]) throws {
        switch self {
        case .exactly(let expected):
            guard expected.count == peer.count, sodium_memcmp(expected, peer, peer.count) == 0 else {
                throw TransportError.unexpectedPeer(expected: expected, got: peer)
            }
        case .allowedBy(let isAllowed):
            guard isAllowed(peer) else { throw TransportError.unexpectedPeer(expected: nil, got: peer) }
        }
    }
}

/// The pure handshake of a secure stream, one instance per side; the caller moves the
/// messages. Both sides send each message at once, without waiting for the peer's:
///
///     hello = version (1) ‖ identity Ed25519 key (32) ‖ ephemeral X25519 key (32)
///     transcript = BLAKE2b-256("tern-stream-v2" ‖ mesh id ‖ connector's hello ‖ acceptor's hello)
///     auth  = Ed25519 signature (64) over ("tern-auth-v2" ‖ role ‖ transcript)
///             ‖ secretstream header (24) of the sender's outbound stream
///
/// The signature proves possession of the identity key and binds it to this connection's
/// ephemeral keys (a recorded hello cannot be replayed: its signature covers the peer's
/// fresh ephemeral key); the role byte stops a side's signature from being reflected back.
/// Session keys are `crypto_kx` keys (connector = kx client) rekeyed with the transcript,
/// so they are bound to both identities.
///
/// Version 2 added the protocol-id frame that follows the handshake (see `SecureConnection`);
/// a version-1 node and a version-2 node refuse each other's hello ("unsupported handshake
/// version") instead of one reading the other's protocol id as data. The context strings
/// carry the version too, so no signature or key of one version is valid in the other.
final class SecureHandshake {
    enum Role: UInt8 { case connector = 1, acceptor = 2 }

    static let version: UInt8 = 2
    static let helloSize = 1 + 32 + 32
    static let authSize = 64 + 24

    private let role: Role
    private let identity: TransportIdentity
    private var ephemeralPublic = [UInt8](repeating: 0, count: Int(crypto_kx_publickeybytes()))
    private var ephemeralSecret = [UInt8](repeating: 0, count: Int(crypto_kx_secretkeybytes()))
    private var transcript: [UInt8] = []
    private var peerIdentity: [UInt8] = []
    private var receiveKey: [UInt8] = []
    private var sendKey: [UInt8] = []

    /// `ephemeralSeed` is for the handshake fuzz target only: a fixed ephemeral key makes
    /// its recorded handshakes replay byte for byte. Live connections never pass one and
    /// always draw fresh keys.
    init(role: Role, identity: TransportIdentity, ephemeralSeed: [UInt8]? = nil) {
        Sodium.ensureInitialized()
        self.role = role
        self.identity = identity
        if let ephemeralSeed {
            precondition(ephemeralSeed.count == Int(crypto_kx_seedbytes()), "an X25519 seed is 32 bytes")
            crypto_kx_seed_keypair(&ephemeralPublic, &ephemeralSecret, ephemeralSeed)
        } else {
            crypto_kx_keypair(&ephemeralPublic, &ephemeralSecret)
        }
    }

    deinit {
        sodium_memzero(&ephemeralSecret, ephemeralSecret.count)
        sodium_memzero(&receiveKey, receiveKey.count)
        sodium_memzero(&sendKey, sendKey.count)
    }

    var hello: [UInt8] { [Self.version] + identity.publicKey + ephemeralPublic }

    /// Checks the peer's hello and derives the session keys; returns the peer's identity.
    func receiveHello(_ message: [UInt8], requirement: PeerRequirement) throws -> [UInt8] {
        guard message.count == Self.helloSize else {
            throw TransportError.malformedHandshake("hello is \(message.count) bytes, expected \(Self.helloSize)")
        }
        guard message[0] == Self.version else {
            throw TransportError.malformedHandshake("unsupported handshake version \(message[0])")
        }
        let peer = Array(message[1..<33])
        let peerEphemeral = Array(message[33..<65])
        try requirement.check(peer)

        let (connectorHello, acceptorHello) = role == .connector ? (hello, message) : (message, hello)
        transcript = Sodium.blake2b(Array("tern-stream-v2".utf8) + identity.mesh.bytes + connectorHello + acceptorHello)

        var rx = [UInt8](repeating: 0, count: Int(crypto_kx_sessionkeybytes()))
        var tx = rx
        let status = role == .connector
            ? crypto_kx_client_session_keys(&rx, &tx, ephemeralPublic, ephemeralSecret, peerEphemeral)
            : crypto_kx_server_session_keys(&rx, &tx, ephemeralPublic, ephemeralSecret, peerEphemeral)
        sodium_memzero(&ephemeralSecret, ephemeralSecret.count)
        guard status == 0 else { throw TransportError.keyExchangeFailed }
        receiveKey = Sodium.blake2b(transcript, key: rx)
        sendKey = Sodium.blake2b(transcript, key: tx)
        sodium_memzero(&rx, rx.count)
        sodium_memzero(&tx, tx.count)
        peerIdentity = peer
        return peer
    }

    /// This side's auth message and the sender for its outbound stream.
    /// Only valid after `receiveHello`.
    func authentication() -> (message: [UInt8], sender: SecretStreamSender) {
        precondition(!sendKey.isEmpty, "authentication() before receiveHello()")
        var signature = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
        let signed = Self.authPayload(role: role, transcript: transcript)
        crypto_sign_detached(&signature, nil, signed, UInt64(signed.count), identity.secretKey)
        let sender = SecretStreamSender(key: sendKey)
        return (signature + sender.header, sender)
    }

    /// Verifies the peer's auth message; returns the receiver for the peer's stream.
    func receiveAuthentication(_ message: [UInt8]) throws -> SecretStreamReceiver {
        precondition(!receiveKey.isEmpty, "receiveAuthentication() before receiveHello()")
        guard message.count == Self.authSize else {
            throw TransportError.malformedHandshake("auth is \(message.count) bytes, expected \(Self.authSize)")
        }
        let peerRole: Role = role == .connector ? .acceptor : .connector
        let signed = Self.authPayload(role: peerRole, transcript: transcript)
        let signature = Array(message[0..<64])
        guard crypto_sign_verify_detached(signature, signed, UInt64(signed.count), peerIdentity) == 0 else {
            throw TransportError.badSignature
        }
        return try SecretStreamReceiver(header: Array(message[64...]), key: receiveKey)
    }

    private static func authPayload(role: Role, transcript: [UInt8]) -> [UInt8] {
        Array("tern-auth-v2".utf8) + [role.rawValue] + transcript
    }
}
