import TernKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A layout cache file, mapped read only and validated in full: its header and table
/// against their hash, the model it was made from against the model being loaded, and every
/// entry's bytes against the entry's hash (on the pool, at memory speed). Matrices handed
/// out view the mapping; nothing is copied. The object keeps the mapping alive.
final class LayoutCacheFile {
    private let mapping: MappedBytes
    private let entries: [String: LayoutCacheFormat.Entry]

    /// Throws `LayoutCacheMiss` when there is no file at `path` or it does not validate for
    /// a model of `modelSize` bytes hashing to `modelHash`.
    init(path: String, modelSize: Int, modelHash: UInt64, pool: ThreadPool?) throws {
        guard access(path, F_OK) == 0 else { throw LayoutCacheMiss.noFile }
        let mapping: MappedBytes
        do { mapping = try MappedBytes(path: path) } catch { throw LayoutCacheMiss.invalid("\(error)") }
        let bytes = mapping.buffer
        typealias F = LayoutCacheFormat
        guard bytes.count >= F.headerBytes else { throw LayoutCacheMiss.invalid("truncated to \(bytes.count) bytes") }
        guard Array(bytes[0..<8]) == F.magic else { throw LayoutCacheMiss.invalid("not a layout cache file") }
        let version = bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self).littleEndian
        guard version == F.version else {
            throw LayoutCacheMiss.invalid("format version \(version), this build reads \(F.version)")
        }
        func word(_ offset: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian }
        let size = UInt64(bytes.count), tableBytes = word(40), payloadOffset = word(48)
        guard word(56) == size else { throw LayoutCacheMiss.invalid("\(size) bytes where the header says \(word(56))") }
        guard tableBytes <= size - UInt64(F.headerBytes), payloadOffset >= UInt64(F.headerBytes) + tableBytes,
              payloadOffset <= size else {
            throw LayoutCacheMiss.invalid("header out of bounds")
        }
        let tableEnd = F.headerBytes + Int(tableBytes)
        guard ContentHash.of(UnsafeRawBufferPointer(rebasing: bytes[16..<tableEnd]), pool: nil) == word(8) else {
            throw LayoutCacheMiss.invalid("header or table corrupt")
        }
        guard word(24) == UInt64(modelSize), word(32) == modelHash else {
            throw LayoutCacheMiss.invalid("made from other model bytes")
        }
        let count = Int(bytes.loadUnaligned(fromByteOffset: 20, as: UInt32.self).littleEndian)
        let table = UnsafeRawBufferPointer(rebasing: bytes[F.headerBytes..<tableEnd])
        guard let list = F.decodeTable(table, count: count, payloadOffset: Int(payloadOffset), fileSize: bytes.count) else {
            throw LayoutCacheMiss.invalid("table corrupt")
        }
        for e in list {
            let data = UnsafeRawBufferPointer(rebasing: bytes[e.offset..<(e.offset + e.byteCount)])
            guard ContentHash.of(data, pool: pool) == e.hash else { throw LayoutCacheMiss.invalid("\(e.name) corrupt") }
        }
        self.mapping = mapping
        entries = Dictionary(list.map { (Self.key($0.kind, $0.name), $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The T5 matrix stored for tensor `name`, if the file has one of this shape.
    func ternary(named name: String, rows: Int, cols: Int) -> TernaryMatrix? {
        guard let e = entry(.t5, name, rows: rows, cols: cols) else { return nil }
        return try? TernaryMatrix(packed: bytes(of: e), rows: rows, cols: cols, owner: mapping)
    }

    /// The Q8_0 head stored for tensor `name`, if the file has one of this shape.
    func q8_0(named name: String, rows: Int, cols: Int) -> BlockQuantMatrix? {
        guard let e = entry(.q8_0, name, rows: rows, cols: cols) else { return nil }
        return try? BlockQuantMatrix(format: .q8_0, rows: rows, cols: cols, bytes: bytes(of: e), owner: mapping)
    }

    private func entry(_ kind: LayoutCacheFormat.Kind, _ name: String, rows: Int, cols: Int) -> LayoutCacheFormat.Entry? {
        guard let e = entries[Self.key(kind, name)], e.rows == rows, e.cols == cols else { return nil }
        return e
    }

    private func bytes(of e: LayoutCacheFormat.Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: mapping.buffer[e.offset..<(e.offset + e.byteCount)])
    }

    private static func key(_ kind: LayoutCacheFormat.Kind, _ name: String) -> String { "\(kind.rawValue)/\(name)" }
}
