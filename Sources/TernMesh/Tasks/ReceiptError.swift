/// Why a job receipt could not be signed, countersigned or accepted.
public enum ReceiptError: Error, Equatable, CustomStringConvertible {
    /// The bytes are not a canonical signed receipt.
    case malformed(WireError)
    /// A field the encoding cannot carry (a receipt built with a wrong-length hash or id).
    case invalidField(String)
    /// The key offered to sign is not the node the receipt names in that role.
    case wrongSigner(role: String, expected: NodeID, actual: NodeID)
    /// The worker's signature does not verify over the body in this mesh: a forgery, a
    /// changed byte, or a receipt from another mesh.
    case badWorkerSignature
    /// The requester's countersignature does not verify over the body and worker signature.
    case badRequesterSignature

    public var description: String {
        switch self {
        case let .malformed(error): "malformed job receipt: \(error)"
        case let .invalidField(detail): "invalid job receipt: \(detail)"
        case let .wrongSigner(role, expected, actual): "the receipt's \(role) is \(expected), not \(actual)"
        case .badWorkerSignature: "the job receipt's worker signature does not verify (tampered, forged, or from another mesh)"
        case .badRequesterSignature: "the job receipt's requester signature does not verify (tampered, forged, or from another mesh)"
        }
    }
}
