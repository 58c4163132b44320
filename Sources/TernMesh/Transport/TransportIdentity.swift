import CSodium

/// The Ed25519 key pair a node authenticates its TCP streams with (libsodium layout:
/// 32-byte public key, 64-byte secret key), and the mesh it speaks for: the handshake binds
/// both, so a peer outside this mesh (without its key) cannot complete one. The mesh's node
/// identity converts to this. Its description shows only the public key.
public struct TransportIdentity: Sendable, CustomStringConvertible {
    public let publicKey: [UInt8]
    let secretKey: [UInt8]
    public private(set) var mesh: MeshID = .open

    /// The same keys, speaking for `mesh`.
    public func inMesh(_ mesh: MeshID) -> TransportIdentity {
        var copy = self
        copy.mesh = mesh
        return copy
    }

    /// Checks the sizes and that `secretKey` really belongs to `publicKey`.
    public init(publicKey: [UInt8], secretKey: [UInt8]) throws {
        Sodium.ensureInitialized()
        guard publicKey.count == Int(crypto_sign_publickeybytes()) else {
            throw TransportError.invalidIdentity("public key is \(publicKey.count) bytes, expected \(crypto_sign_publickeybytes())")
        }
        guard secretKey.count == Int(crypto_sign_secretkeybytes()) else {
            throw TransportError.invalidIdentity("secret key is \(secretKey.count) bytes, expected \(crypto_sign_secretkeybytes())")
        }
        var derived = [UInt8](repeating: 0, count: publicKey.count)
        _ = crypto_sign_ed25519_sk_to_pk(&derived, secretKey)
        guard derived == publicKey else {
            throw TransportError.invalidIdentity("secret key does not match the public key")
        }
        self.init(matchingPublicKey: publicKey, secretKey: secretKey)
    }

    private init(matchingPublicKey publicKey: [UInt8], secretKey: [UInt8]) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    public var description: String { "TransportIdentity(\(Hex.encode(publicKey)))" }

    /// A fresh random identity (tests and throwaway nodes).
    public static func generate() -> TransportIdentity {
        Sodium.ensureInitialized()
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
        var secretKey = [UInt8](repeating: 0, count: Int(crypto_sign_secretkeybytes()))
        crypto_sign_keypair(&publicKey, &secretKey)
        return TransportIdentity(matchingPublicKey: publicKey, secretKey: secretKey)
    }
}
