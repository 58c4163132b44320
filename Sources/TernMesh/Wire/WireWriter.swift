/// Builds the canonical encoding: fixed-width big-endian integers, strings and byte strings
/// with a length prefix, lists with a count prefix. There is exactly one encoding of a value.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) { appendBigEndian(UInt64(value), width: 2) }
    public mutating func u32(_ value: UInt32) { appendBigEndian(UInt64(value), width: 4) }
    public mutating func u64(_ value: UInt64) { appendBigEndian(value, width: 8) }
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Raw bytes whose length both sides know (keys, signatures, hashes).
    public mutating func fixed(_ raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    public mutating func nodeID(_ id: NodeID) { id.append(to: &bytes) }

    /// u8 length then UTF-8 bytes. Callers validate lengths when building records; a longer
    /// string here is a programming error, not input.
    public mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        precondition(utf8.count <= WireLimits.maxStringBytes, "string field longer than the wire limit")
        u8(UInt8(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// A list count (u16); decoders check it against `WireLimits.maxListCount`.
    public mutating func count(_ value: Int) {
        precondition(value <= Int(UInt16.max), "list longer than the wire limit")
        u16(UInt16(value))
    }

    /// u16 length then the bytes.
    public mutating func blob(_ raw: [UInt8]) {
        precondition(raw.count <= Int(UInt16.max), "blob longer than the wire limit")
        u16(UInt16(raw.count))
        bytes.append(contentsOf: raw)
    }

    /// u32 length then the bytes: stream messages (blob chunks, prompts), never datagrams.
    public mutating func longBlob(_ raw: some Collection<UInt8>) {
        precondition(raw.count <= Int(UInt32.max), "blob longer than the wire limit")
        u32(UInt32(raw.count))
        bytes.append(contentsOf: raw)
    }

    private mutating func appendBigEndian(_ value: UInt64, width: Int) {
        for index in stride(from: width - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(index * 8)))
        }
    }
}
