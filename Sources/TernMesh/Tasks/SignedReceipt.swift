/// A job receipt with the worker's signature and, once the requester has accepted the
/// result, the requester's countersignature: the record credits are earned by.
///
/// Both signatures cover "tern/receipt/1" ‖ mesh id ‖ role, so a receipt is valid in one
/// mesh only and no receipt signature is valid as any other record's. The worker (role 1)
/// signs the body; the requester (role 2) signs the body ‖ the worker's signature, so its
/// countersignature vouches for that exact signed receipt.
///
/// Encoding (for the wire and the ledger): `blob` body, `sig` worker signature, `bool`
/// countersigned, then `sig` requester signature if set.
public struct SignedReceipt: Sendable, Equatable {
    static let signingContext: [UInt8] = Array("tern/receipt/1".utf8)
    static let workerRole: UInt8 = 1
    static let requesterRole: UInt8 = 2
    /// The longest encoding; decoders refuse anything longer before reading a field.
    public static let maxEncodedBytes = 2 + JobReceipt.maxEncodedBytes + 1 + 2 * NodeIdentity.signatureByteCount

    public let receipt: JobReceipt
    /// `receipt.encoded()`: the exact bytes that were signed.
    public let body: [UInt8]
    public let workerSignature: [UInt8]
    public let requesterSignature: [UInt8]?

    private init(receipt: JobReceipt, body: [UInt8], workerSignature: [UInt8], requesterSignature: [UInt8]?) {
        self.receipt = receipt
        self.body = body
        self.workerSignature = workerSignature
        self.requesterSignature = requesterSignature
    }

    /// The worker signs `receipt`; throws if `worker` is not `receipt.worker` or a field is invalid.
    public static func sign(_ receipt: JobReceipt, worker: NodeIdentity, mesh: MeshID) throws(ReceiptError) -> SignedReceipt {
        guard worker.nodeID == receipt.worker else {
            throw .wrongSigner(role: "worker", expected: receipt.worker, actual: worker.nodeID)
        }
        try receipt.validate()
        let body = receipt.encoded()
        return SignedReceipt(receipt: receipt, body: body,
                             workerSignature: worker.sign(signedBytes(role: workerRole, message: body, mesh: mesh)),
                             requesterSignature: nil)
    }

    /// The requester accepts the result: throws if `requester` is not `receipt.requester`, or
    /// if the worker's signature does not verify (nobody vouches for a receipt it cannot check).
    public func countersigned(by requester: NodeIdentity, mesh: MeshID) throws(ReceiptError) -> SignedReceipt {
        guard requester.nodeID == receipt.requester else {
            throw .wrongSigner(role: "requester", expected: receipt.requester, actual: requester.nodeID)
        }
        guard workerSignatureIsValid(mesh: mesh) else { throw .badWorkerSignature }
        let message = Self.signedBytes(role: Self.requesterRole, message: body + workerSignature, mesh: mesh)
        return SignedReceipt(receipt: receipt, body: body, workerSignature: workerSignature,
                             requesterSignature: requester.sign(message))
    }

    public func workerSignatureIsValid(mesh: MeshID) -> Bool {
        NodeIdentity.verify(signature: workerSignature, message: Self.signedBytes(role: Self.workerRole, message: body, mesh: mesh),
                            signer: receipt.worker)
    }

    /// False when the receipt is not countersigned.
    public func requesterSignatureIsValid(mesh: MeshID) -> Bool {
        guard let requesterSignature else { return false }
        let message = Self.signedBytes(role: Self.requesterRole, message: body + workerSignature, mesh: mesh)
        return NodeIdentity.verify(signature: requesterSignature, message: message, signer: receipt.requester)
    }

    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: body.count + 2 + 1 + 2 * NodeIdentity.signatureByteCount)
        writer.blob(body)
        writer.fixed(workerSignature)
        writer.bool(requesterSignature != nil)
        if let requesterSignature { writer.fixed(requesterSignature) }
        return writer.bytes
    }

    /// Decodes and verifies the worker signature (and the requester's when present); throws
    /// `ReceiptError` naming what failed, whatever the input.
    public static func decode(_ bytes: [UInt8], mesh: MeshID) throws(ReceiptError) -> SignedReceipt {
        let signed: SignedReceipt
        do throws(WireError) {
            guard bytes.count <= maxEncodedBytes else {
                throw WireError.tooLong(field: "signed receipt", length: bytes.count, limit: maxEncodedBytes)
            }
            var reader = WireReader(bytes)
            let body = try reader.blob("receipt body", maxBytes: JobReceipt.maxEncodedBytes)
            let workerSignature = try reader.fixed(NodeIdentity.signatureByteCount, "worker signature")
            let requesterSignature = try reader.bool("countersigned")
                ? try reader.fixed(NodeIdentity.signatureByteCount, "requester signature") : nil
            try reader.expectEnd()
            signed = SignedReceipt(receipt: try JobReceipt.decode(body), body: body, workerSignature: workerSignature,
                                   requesterSignature: requesterSignature)
        } catch {
            throw .malformed(error)
        }
        guard signed.workerSignatureIsValid(mesh: mesh) else { throw .badWorkerSignature }
        if signed.requesterSignature != nil, !signed.requesterSignatureIsValid(mesh: mesh) { throw .badRequesterSignature }
        return signed
    }

    /// context ‖ mesh id ‖ role ‖ message.
    private static func signedBytes(role: UInt8, message: [UInt8], mesh: MeshID) -> [UInt8] {
        var writer = WireWriter(capacity: signingContext.count + MeshID.byteCount + 1 + message.count)
        writer.fixed(signingContext)
        writer.fixed(mesh.bytes)
        writer.u8(role)
        writer.fixed(message)
        return writer.bytes
    }
}
