/// Which mesh a node belongs to: 32 bytes derived from the operator's mesh key (`--mesh-key`),
/// or a public constant for the open mesh.
///
/// The id is never sent. Every envelope signature, every membership record and every stream
/// handshake covers it, so a packet made for another mesh (or by someone who does not hold
/// the mesh key) fails its signature check before this node keeps any state for it, and a
/// record signed in one mesh is never valid in another.
public struct MeshID: Hashable, Sendable {
    public static let byteCount = 32
    /// Length of a mesh key file's secret.
    public static let keyByteCount = 32

    public let bytes: [UInt8]

    /// The mesh anyone can join.
    public static let open = MeshID(bytes: Sodium.blake2b(Array("tern/open-mesh/1".utf8)))

    /// The private mesh of everyone who holds `secret` (a 32-byte shared key).
    public init(secret: [UInt8]) throws(IdentityError) {
        guard secret.count == Self.keyByteCount else { throw .badMeshKey(length: secret.count) }
        try Sodium.ensureReady()
        bytes = Sodium.blake2b(Array("tern/mesh-id/1".utf8), key: secret)
    }

    init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount)
        self.bytes = bytes
    }

    /// A short label for logs (not secret-revealing: a hash of the id).
    public var fingerprint: String { Hex.encode(Sodium.blake2b(bytes).prefix(4)) }
}
