/// Bounds-checked little-endian reads from a byte buffer. Every read checks the remaining
/// length first, so a malformed file produces `GGUFError.truncated`, never a crash.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    /// Fails unless at least `count` bytes remain (checks a count before allocating for it).
    func require(_ count: Int, _ what: String) throws {
        guard count <= remaining else { throw GGUFError.truncated(offset: offset, needed: count - remaining, what: what) }
    }

    mutating func take(_ count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw GGUFError.truncated(offset: offset, needed: count - remaining, what: what)
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
        offset += count
        return slice
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        let raw = try take(MemoryLayout<T>.size, what)
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    mutating func readString(_ what: String, maxLength: Int = 1 << 28) throws -> String {
        let start = offset
        let length = try read(UInt64.self, "length of \(what)")
        guard length <= UInt64(maxLength) else {
            throw GGUFError.countTooLarge(what: "length of \(what)", count: length, offset: start)
        }
        let raw = try take(Int(length), what)
        guard let s = String(validating: raw, as: UTF8.self) else { throw GGUFError.invalidString(offset: start) }
        return s
    }
}
