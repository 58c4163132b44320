#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a blob is made of: its size and the BLAKE2b-256 hash of every chunk, in order. The
/// blob's id is the hash of the manifest's canonical bytes, so a peer that knows only the id
/// can check a manifest it is sent, then every chunk on its own as it arrives, in any order.
///
/// Canonical bytes (big-endian): version `1` (u8), size (u64), chunk size (u32), chunk count
/// (u32), then 32 bytes per chunk. Every chunk is `chunkSize` bytes except a shorter last one;
/// an empty blob has no chunks.
public struct BlobManifest: Sendable, Equatable {
    public static let defaultChunkSize = 1 << 20
    /// 1 TiB: bounds the chunk count, so a decoded manifest is at most 32 MiB.
    public static let maxBlobSize: UInt64 = 1 << 40
    static let version: UInt8 = 1
    static let headerBytes = 1 + 8 + 4 + 4
    static let hashBytes = 32

    public let size: UInt64
    public let chunkSize: Int
    /// BLAKE2b-256 of each chunk, in order.
    public let chunkHashes: [[UInt8]]
    /// Hashed once here: the store and the network layer look it up on every chunk.
    public let id: BlobID

    private init(size: UInt64, chunkSize: Int, chunkHashes: [[UInt8]], canonicalBytes: [UInt8]? = nil) {
        self.size = size
        self.chunkSize = chunkSize
        self.chunkHashes = chunkHashes
        id = BlobID(hashing: canonicalBytes ?? Self.encode(size: size, chunkSize: chunkSize, chunkHashes: chunkHashes))
    }

    public var chunkCount: Int { chunkHashes.count }

    /// The bytes of the blob that chunk `index` covers; only the last chunk may be short.
    public func byteRange(ofChunk index: Int) -> Range<UInt64> {
        precondition(index >= 0 && index < chunkCount, "chunk index \(index) outside 0..<\(chunkCount)")
        let start = UInt64(index) * UInt64(chunkSize)
        return start..<min(start + UInt64(chunkSize), size)
    }

    public func encoded() -> [UInt8] {
        Self.encode(size: size, chunkSize: chunkSize, chunkHashes: chunkHashes)
    }

    private static func encode(size: UInt64, chunkSize: Int, chunkHashes: [[UInt8]]) -> [UInt8] {
        var writer = WireWriter(capacity: headerBytes + hashBytes * chunkHashes.count)
        writer.u8(version)
        writer.u64(size)
        writer.u32(UInt32(chunkSize))
        writer.u32(UInt32(chunkHashes.count))
        for hash in chunkHashes { writer.fixed(hash) }
        return writer.bytes
    }

    static func chunkCount(size: UInt64, chunkSize: Int) -> Int {
        size == 0 ? 0 : Int((size - 1) / UInt64(chunkSize)) + 1
    }

    // MARK: Decoding

    /// Decodes a manifest a peer sent for `id`: throws unless it hashes to `id`, is well formed,
    /// and its size, chunk size (must be `defaultChunkSize`) and chunk count agree. Never traps
    /// on hostile input.
    public static func decode(_ bytes: [UInt8], expecting id: BlobID) throws -> BlobManifest {
        let found = BlobID(hashing: bytes)
        guard found == id else { throw BlobError.manifestMismatch(expected: id, found: found) }
        return try decode(bytes)
    }

    /// The same checks without an id to match (the store's own copy, read back from the ledger).
    public static func decode(_ bytes: [UInt8]) throws -> BlobManifest {
        var reader = WireReader(bytes)
        do {
            let version = try reader.u8("manifest version")
            guard version == Self.version else { throw BlobError.malformedManifest("unknown version \(version)") }
            let size = try reader.u64("blob size")
            guard size <= maxBlobSize else { throw BlobError.tooLarge(size: size, limit: maxBlobSize) }
            let chunkSize = Int(try reader.u32("chunk size"))
            guard chunkSize == defaultChunkSize else {
                throw BlobError.malformedManifest("chunk size \(chunkSize), only \(defaultChunkSize) is allowed")
            }
            let count = Int(try reader.u32("chunk count"))
            let expected = chunkCount(size: size, chunkSize: chunkSize)
            guard count == expected else {
                throw BlobError.malformedManifest("\(count) chunks for \(size) bytes, which take \(expected)")
            }
            // Checked before anything is allocated for the hashes.
            guard reader.remaining >= count * hashBytes else {
                throw BlobError.malformedManifest("truncated: \(count) chunk hashes need \(count * hashBytes) bytes, \(reader.remaining) left")
            }
            var hashes: [[UInt8]] = []
            hashes.reserveCapacity(count)
            for _ in 0..<count { hashes.append(try reader.fixed(hashBytes, "chunk hash")) }
            try reader.expectEnd()
            return BlobManifest(size: size, chunkSize: chunkSize, chunkHashes: hashes, canonicalBytes: bytes)
        } catch let error as WireError {
            throw BlobError.malformedManifest(error.description)
        }
    }

    // MARK: Verifying chunks

    /// True when `chunk` has exactly the length announced for `index` and hashes to its entry.
    public func verify(chunk: UnsafeRawBufferPointer, index: Int) -> Bool {
        guard index >= 0, index < chunkCount, chunk.count == byteRange(ofChunk: index).count else { return false }
        return Sodium.blake2b(chunk) == chunkHashes[index]
    }

    public func verify(chunk: [UInt8], index: Int) -> Bool {
        chunk.withUnsafeBytes { verify(chunk: $0, index: index) }
    }

    // MARK: Hashing content

    /// Builds a manifest from content fed in order, one chunk at a time, so a file of any size
    /// is hashed (and, by the store, copied) in one pass with one chunk-sized buffer.
    public struct Builder: Sendable {
        public private(set) var size: UInt64 = 0
        private var hashes: [[UInt8]] = []
        private var ended = false

        public init() {}

        /// Hashes the next chunk. Every chunk but the last must be exactly `defaultChunkSize`
        /// bytes, and the total at most `maxBlobSize`: callers check sizes, so a violation is a
        /// programming error.
        public mutating func append(_ chunk: UnsafeRawBufferPointer) {
            precondition(!ended, "a short chunk must be the last one")
            precondition(!chunk.isEmpty && chunk.count <= BlobManifest.defaultChunkSize, "chunk of \(chunk.count) bytes")
            precondition(size + UInt64(chunk.count) <= BlobManifest.maxBlobSize, "blob larger than maxBlobSize")
            hashes.append(Sodium.blake2b(chunk))
            size += UInt64(chunk.count)
            ended = chunk.count < BlobManifest.defaultChunkSize
        }

        public func finish() -> BlobManifest {
            BlobManifest(size: size, chunkSize: BlobManifest.defaultChunkSize, chunkHashes: hashes)
        }
    }

    public static func hashing(bytes: [UInt8]) -> BlobManifest {
        precondition(UInt64(bytes.count) <= maxBlobSize, "blob larger than maxBlobSize")
        var builder = Builder()
        bytes.withUnsafeBytes { all in
            for start in stride(from: 0, to: all.count, by: defaultChunkSize) {
                builder.append(UnsafeRawBufferPointer(rebasing: all[start..<min(start + defaultChunkSize, all.count)]))
            }
        }
        return builder.finish()
    }

    /// Hashes the file at `path` chunk by chunk: one reused 1 MiB buffer, so memory stays
    /// bounded whatever the file's size, and hashing (not reading) sets the pace.
    public static func hashing(fileAt path: String) throws -> BlobManifest {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw BlobError.io(path: path, reason: "cannot open: \(errnoText())") }
        defer { close(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: defaultChunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        var builder = Builder()
        while true {
            let filled = try readChunk(descriptor, into: buffer, path: path)
            guard filled > 0 else { break }
            guard builder.size + UInt64(filled) <= maxBlobSize else {
                throw BlobError.tooLarge(size: builder.size + UInt64(filled), limit: maxBlobSize)
            }
            builder.append(UnsafeRawBufferPointer(rebasing: buffer[..<filled]))
            guard filled == defaultChunkSize else { break }
        }
        return builder.finish()
    }

    /// Fills `buffer` unless the file ends first (`read` may return less than asked for).
    private static func readChunk(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw BlobError.io(path: path, reason: "cannot read: \(errnoText())")
            }
            filled += count
        }
        return filled
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
