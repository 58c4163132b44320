/// `tern fuzz receipt`: signed job receipts through `SignedReceipt.decode`, which parses
/// the framing and the body (`JobReceipt.decode`) and verifies both signatures.
///
/// Invariants: an accepted receipt re-encodes to exactly the input, and only a sample is
/// accepted: every byte is covered by a signature, so any other input that passes is a
/// forgery.
public struct ReceiptFuzzTarget: FuzzTarget {
    public let name = "receipt"
    public let samples: [[UInt8]]

    public init() {
        samples = MeshFuzzSamples.signedReceipts.map { $0.encoded() }
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        let signed: SignedReceipt
        do {
            signed = try SignedReceipt.decode(input, mesh: MeshFuzzSamples.mesh)
        } catch {
            return .rejected(error.fuzzLabel)
        }
        guard signed.encoded() == input else { return .violation("a decoded receipt does not re-encode to its input") }
        guard samples.contains(input) else { return .violation("a receipt that was never signed verifies") }
        return .accepted(signed.requesterSignature == nil ? "workerSigned" : "countersigned")
    }
}
