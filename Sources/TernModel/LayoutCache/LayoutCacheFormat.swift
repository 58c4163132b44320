import TernKernels

/// The byte layout of a layout cache file (little-endian):
///
/// ```
/// 0   magic "TERNLYT\0"
/// 8   u64 hash of bytes 16 ..< 64 + table bytes (the rest of the header and the table)
/// 16  u32 format version          20  u32 entry count
/// 24  u64 model file size         32  u64 model content hash
/// 40  u64 table bytes             48  u64 payload offset (a multiple of 4096)
/// 56  u64 file size
/// 64  table: per entry u32 kind, u32 name length, u64 rows, u64 cols, u64 offset,
///     u64 byte count, u64 content hash of the entry's bytes, then the name (UTF-8),
///     zero-padded to a multiple of 8
/// payload: each entry's bytes at its offset (a multiple of 64, for the kernels' loads)
/// ```
///
/// Every hash is `ContentHash`. A reader checks the header hash before it believes any
/// offset, and each entry's hash before it hands the entry out.
enum LayoutCacheFormat {
    static let magic: [UInt8] = Array("TERNLYT\0".utf8)
    /// Bumped whenever the file layout or the engine's T5 / Q8_0 layouts change: a file of
    /// another version is rebuilt.
    static let version: UInt32 = 1
    static let headerBytes = 64
    static let payloadAlignment = 4096
    static let entryAlignment = 64

    /// What an entry holds.
    enum Kind: UInt32 {
        /// A `TernaryMatrix`: packed T5 rows, then one Float scale per row.
        case t5 = 1
        /// A Q8_0 `BlockQuantMatrix` (the requantized float output head).
        case q8_0 = 2
    }

    struct Entry: Equatable {
        var kind: Kind
        var name: String
        var rows: Int
        var cols: Int
        var offset: Int
        var byteCount: Int
        var hash: UInt64
    }

    struct Header: Equatable {
        var modelSize: Int
        var modelHash: UInt64
        var tableBytes: Int
        var payloadOffset: Int
        var fileSize: Int
        var entryCount: Int
    }

    static func align(_ n: Int, _ alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// The table's bytes.
    static func encodeTable(_ entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = []
        for e in entries {
            let name = Array(e.name.utf8)
            append(&out, e.kind.rawValue)
            append(&out, UInt32(name.count))
            for v in [UInt64(e.rows), UInt64(e.cols), UInt64(e.offset), UInt64(e.byteCount), e.hash] { append(&out, v) }
            out += name + [UInt8](repeating: 0, count: align(name.count, 8) - name.count)
        }
        return out
    }

    /// The 64 header bytes with the hash of the rest of the header and `table` filled in.
    static func encodeHeader(_ h: Header, table: [UInt8]) -> [UInt8] {
        var rest: [UInt8] = []
        append(&rest, version)
        append(&rest, UInt32(h.entryCount))
        for v in [UInt64(h.modelSize), h.modelHash, UInt64(h.tableBytes), UInt64(h.payloadOffset), UInt64(h.fileSize)] {
            append(&rest, v)
        }
        let covered = rest + table
        var out = magic
        append(&out, covered.withUnsafeBytes { ContentHash.of($0, pool: nil) })
        return out + rest
    }

    /// Parses `count` table entries; nil when an entry is malformed or lies outside
    /// payloadOffset ..< fileSize.
    static func decodeTable(_ bytes: UnsafeRawBufferPointer, count: Int, payloadOffset: Int, fileSize: Int) -> [Entry]? {
        var cursor = ByteCursor(bytes)
        var entries: [Entry] = []
        for _ in 0..<count {
            guard let rawKind = try? cursor.read(UInt32.self, "kind"), let kind = Kind(rawValue: rawKind),
                  let nameLength = try? cursor.read(UInt32.self, "name length"),
                  let rows = try? cursor.read(UInt64.self, "rows"), let cols = try? cursor.read(UInt64.self, "cols"),
                  let offset = try? cursor.read(UInt64.self, "offset"), let byteCount = try? cursor.read(UInt64.self, "bytes"),
                  let hash = try? cursor.read(UInt64.self, "hash"),
                  let name = try? cursor.take(align(Int(nameLength), 8), "name"),
                  let text = String(validating: UnsafeRawBufferPointer(rebasing: name[0..<Int(nameLength)]), as: UTF8.self),
                  rows < 1 << 32, cols < 1 << 32, offset % UInt64(entryAlignment) == 0,
                  offset >= UInt64(payloadOffset), byteCount <= UInt64(fileSize), offset <= UInt64(fileSize) - byteCount
            else { return nil }
            entries.append(Entry(kind: kind, name: text, rows: Int(rows), cols: Int(cols), offset: Int(offset),
                                 byteCount: Int(byteCount), hash: hash))
        }
        return cursor.remaining == 0 ? entries : nil
    }

    private static func append<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }
}
