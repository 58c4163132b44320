/// Reads the canonical encoding written by `WireWriter`. Every read checks the remaining
/// length first and throws `WireError`; nothing reads past the buffer or allocates more than
/// a limit allows.
public struct WireReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    public mutating func u8(_ field: String) throws(WireError) -> UInt8 {
        try need(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u16(_ field: String) throws(WireError) -> UInt16 { UInt16(try bigEndian(2, field)) }
    public mutating func u32(_ field: String) throws(WireError) -> UInt32 { UInt32(try bigEndian(4, field)) }
    public mutating func u64(_ field: String) throws(WireError) -> UInt64 { try bigEndian(8, field) }

    public mutating func bool(_ field: String) throws(WireError) -> Bool {
        switch try u8(field) {
        case 0: return false
        case 1: return true
        case let other: throw .invalidValue(field: field, value: UInt64(other))
        }
    }

    public mutating func fixed(_ count: Int, _ field: String) throws(WireError) -> [UInt8] {
        try need(count, field)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func nodeID(_ field: String) throws(WireError) -> NodeID {
        NodeID(bytes: try fixed(NodeID.byteCount, field))!
    }

    public mutating func string(_ field: String, maxBytes: Int = WireLimits.maxStringBytes) throws(WireError) -> String {
        let length = Int(try u8(field))
        guard length <= maxBytes else { throw .tooLong(field: field, length: length, limit: maxBytes) }
        let raw = try fixed(length, field)
        guard let value = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(field: field) }
        return value
    }

    public mutating func blob(_ field: String, maxBytes: Int) throws(WireError) -> [UInt8] {
        let length = Int(try u16(field))
        guard length <= maxBytes else { throw .tooLong(field: field, length: length, limit: maxBytes) }
        return try fixed(length, field)
    }

    /// A `longBlob` field, its u32 length checked against `maxBytes` before anything is copied.
    public mutating func longBlob(_ field: String, maxBytes: Int) throws(WireError) -> [UInt8] {
        let length = Int(try u32(field))
        guard length <= maxBytes else { throw .tooLong(field: field, length: length, limit: maxBytes) }
        return try fixed(length, field)
    }

    /// UTF-8 text in a `longBlob` field (prompts, generated text).
    public mutating func longText(_ field: String, maxBytes: Int) throws(WireError) -> String {
        let raw = try longBlob(field, maxBytes: maxBytes)
        guard let value = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(field: field) }
        return value
    }

    /// A list count, checked against `limit` before anything is allocated for the entries.
    public mutating func count(_ field: String, limit: Int = WireLimits.maxListCount) throws(WireError) -> Int {
        let value = Int(try u16(field))
        guard value <= limit else { throw .tooLong(field: field, length: value, limit: limit) }
        return value
    }

    /// Canonical records end exactly at the end of their buffer.
    public func expectEnd() throws(WireError) {
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
    }

    private mutating func need(_ count: Int, _ field: String) throws(WireError) {
        guard count <= remaining else { throw .truncated(field: field, needed: count, available: remaining) }
    }

    private mutating func bigEndian(_ width: Int, _ field: String) throws(WireError) -> UInt64 {
        try need(width, field)
        var value: UInt64 = 0
        for index in offset..<offset + width { value = value << 8 | UInt64(bytes[index]) }
        offset += width
        return value
    }
}
