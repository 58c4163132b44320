/// A node's identity on the mesh: its 32-byte Ed25519 public key.
///
/// Stored as four words rather than an array so that tables keyed by node id (every member
/// list, every per-peer counter) hash and compare without touching the heap.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let byteCount = 32

    private let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// Fails unless `bytes` is exactly 32 bytes long.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        var words = [UInt64](repeating: 0, count: 4)
        for (index, byte) in bytes.enumerated() {
            words[index / 8] = words[index / 8] << 8 | UInt64(byte)
        }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    /// The public key bytes, in order.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.byteCount)
        append(to: &out)
        return out
    }

    /// Appends the 32 key bytes without an intermediate array (encoders call this a lot).
    func append(to out: inout [UInt8]) {
        appendWord(w0, to: &out)
        appendWord(w1, to: &out)
        appendWord(w2, to: &out)
        appendWord(w3, to: &out)
    }

    private func appendWord(_ word: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
    }

    /// A short, stable label for logs and tables: the first 8 bytes of BLAKE2b-256 of the
    /// public key, in lowercase hex. Hashing first means ids that share a prefix (e.g. in
    /// tests) still get distinct labels.
    public var fingerprint: String { Hex.encode(Sodium.blake2b(bytes).prefix(8)) }

    /// The whole public key in lowercase hex (ledger keys, `--json` output).
    public var hex: String { Hex.encode(bytes) }

    public var description: String { fingerprint }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }
}
