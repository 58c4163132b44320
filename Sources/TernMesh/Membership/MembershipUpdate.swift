/// A member's state as SWIM sees it.
public enum MemberStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case alive = 0, suspect = 1, dead = 2, left = 3

    /// Members in these states are probed and counted in the group size.
    public var isLive: Bool { self == .alive || self == .suspect }

    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "dead"
        case .left: "left"
        }
    }
}

/// One signed membership fact, gossiped and merged: "`node` is `status` at `incarnation`".
///
/// Who may say what is the protocol's trust model (docs/protocol.md §6):
/// - **alive** and **left** are signed by `node` itself: only a node can announce, refute,
///   move (its `endpoint`) or retire itself;
/// - **suspect** and **dead** are accusations signed by `accuser`; receivers count them only
///   when the accuser is a current member, one vote per accuser (Lifeguard).
///
/// Every signature covers the mesh id, so a record is valid in one mesh only. Relays forward
/// records byte for byte; nobody can change a field without the signer's key.
public struct MembershipUpdate: Equatable, Sendable {
    static let signingContext: [UInt8] = Array("tern/membership/1".utf8)

    public let node: NodeID
    public let status: MemberStatus
    public let incarnation: UInt64
    /// Alive records only: where the node receives gossip, an IP literal `host:port`.
    public let endpoint: String
    /// Suspect and dead records only: the member that accuses.
    public let accuser: NodeID?
    public let signature: [UInt8]

    /// The key that must have signed this record.
    public var signer: NodeID { accuser ?? node }

    /// `signer.nodeID` announces itself alive at `incarnation`, reachable at `endpoint`.
    public static func alive(incarnation: UInt64, endpoint: String, signer: some EnvelopeSigner, mesh: MeshID) -> MembershipUpdate {
        signed(node: signer.nodeID, status: .alive, incarnation: incarnation, endpoint: endpoint, accuser: nil, signer: signer, mesh: mesh)
    }

    /// `signer.nodeID` leaves the mesh for good at `incarnation`.
    public static func left(incarnation: UInt64, signer: some EnvelopeSigner, mesh: MeshID) -> MembershipUpdate {
        signed(node: signer.nodeID, status: .left, incarnation: incarnation, endpoint: "", accuser: nil, signer: signer, mesh: mesh)
    }

    /// `accuser` suspects `node` (at the incarnation it was last seen alive).
    public static func suspect(_ node: NodeID, incarnation: UInt64, accuser: some EnvelopeSigner, mesh: MeshID) -> MembershipUpdate {
        signed(node: node, status: .suspect, incarnation: incarnation, endpoint: "", accuser: accuser.nodeID, signer: accuser, mesh: mesh)
    }

    /// `accuser`'s suspicion of `node` ran out without a refutation.
    public static func dead(_ node: NodeID, incarnation: UInt64, accuser: some EnvelopeSigner, mesh: MeshID) -> MembershipUpdate {
        signed(node: node, status: .dead, incarnation: incarnation, endpoint: "", accuser: accuser.nodeID, signer: accuser, mesh: mesh)
    }

    private static func signed(node: NodeID, status: MemberStatus, incarnation: UInt64, endpoint: String, accuser: NodeID?,
                               signer: some EnvelopeSigner, mesh: MeshID) -> MembershipUpdate {
        let unsigned = MembershipUpdate(node: node, status: status, incarnation: incarnation, endpoint: endpoint,
                                        accuser: accuser, signature: [])
        return MembershipUpdate(node: node, status: status, incarnation: incarnation, endpoint: endpoint, accuser: accuser,
                                signature: signer.sign(unsigned.signedBytes(mesh: mesh)))
    }

    init(node: NodeID, status: MemberStatus, incarnation: UInt64, endpoint: String, accuser: NodeID?, signature: [UInt8]) {
        self.node = node
        self.status = status
        self.incarnation = incarnation
        self.endpoint = endpoint
        self.accuser = accuser
        self.signature = signature
    }

    /// The bytes the signature covers: context ‖ mesh id ‖ the record without its signature.
    func signedBytes(mesh: MeshID) -> [UInt8] {
        var writer = WireWriter(capacity: wireSize + 64)
        writer.fixed(Self.signingContext)
        writer.fixed(mesh.bytes)
        writeFields(to: &writer)
        return writer.bytes
    }

    /// Whether the record carries its signer's valid signature for `mesh`.
    public func hasValidSignature(mesh: MeshID) -> Bool {
        NodeIdentity.verify(signature: signature, message: signedBytes(mesh: mesh), signer: signer)
    }

    /// Encoded size in bytes.
    public var wireSize: Int {
        let head = 1 + NodeID.byteCount + 8, tail = NodeIdentity.signatureByteCount
        switch status {
        case .alive: return head + 1 + endpoint.utf8.count + tail
        case .suspect, .dead: return head + NodeID.byteCount + tail
        case .left: return head + tail
        }
    }

    func write(to writer: inout WireWriter) {
        writeFields(to: &writer)
        writer.fixed(signature)
    }

    private func writeFields(to writer: inout WireWriter) {
        writer.u8(status.rawValue)
        writer.nodeID(node)
        writer.u64(incarnation)
        switch status {
        case .alive: writer.string(endpoint)
        case .suspect, .dead: writer.nodeID(accuser ?? node)
        case .left: break
        }
    }

    static func read(from reader: inout WireReader) throws(WireError) -> MembershipUpdate {
        let rawStatus = try reader.u8("member status")
        guard let status = MemberStatus(rawValue: rawStatus) else {
            throw .invalidValue(field: "member status", value: UInt64(rawStatus))
        }
        let node = try reader.nodeID("member id")
        let incarnation = try reader.u64("incarnation")
        var endpoint = "", accuser: NodeID?
        switch status {
        case .alive: endpoint = try reader.string("endpoint", maxBytes: GossipEndpoint.maxBytes)
        case .suspect, .dead: accuser = try reader.nodeID("accuser")
        case .left: break
        }
        let signature = try reader.fixed(NodeIdentity.signatureByteCount, "record signature")
        return MembershipUpdate(node: node, status: status, incarnation: incarnation, endpoint: endpoint,
                                accuser: accuser, signature: signature)
    }
}
