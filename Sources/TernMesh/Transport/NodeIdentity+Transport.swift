extension NodeIdentity {
    /// The same Ed25519 key pair, in the form the encrypted TCP transport authenticates with.
    public var transportIdentity: TransportIdentity {
        // The pair was derived by libsodium from one seed, so it always matches.
        try! TransportIdentity(publicKey: nodeID.bytes, secretKey: secretKey)
    }

    /// The transport identity speaking for `mesh` (its handshakes bind the mesh id).
    public func transportIdentity(in mesh: MeshID) -> TransportIdentity { transportIdentity.inMesh(mesh) }
}
