import Foundation
import TernMesh
import TernSupport
import Testing

@Suite struct BlobManifestTests {
    static let chunk = BlobManifest.defaultChunkSize

    func randomBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

    /// Manifest bytes with the given header fields and `hashCount` zero hashes.
    func manifestBytes(version: UInt8 = 1, size: UInt64, chunkSize: UInt32 = UInt32(chunk), count: UInt32,
                       hashCount: Int? = nil) -> [UInt8] {
        var writer = WireWriter()
        writer.u8(version)
        writer.u64(size)
        writer.u32(chunkSize)
        writer.u32(count)
        writer.fixed([UInt8](repeating: 0, count: 32 * (hashCount ?? Int(count))))
        return writer.bytes
    }

    @Test(arguments: [0, 1, chunk - 1, chunk, 2 * chunk, 2 * chunk + 1])
    func roundTripsEverySizeShape(size: Int) throws {
        let manifest = BlobManifest.hashing(bytes: randomBytes(size))
        #expect(manifest.size == UInt64(size) && manifest.chunkSize == Self.chunk)
        #expect(manifest.chunkCount == (size + Self.chunk - 1) / Self.chunk)
        if manifest.chunkCount > 0 {
            let last = manifest.byteRange(ofChunk: manifest.chunkCount - 1)
            #expect(last.upperBound == UInt64(size) && last.count == size - (manifest.chunkCount - 1) * Self.chunk)
        }
        let encoded = manifest.encoded()
        #expect(encoded.count == 17 + 32 * manifest.chunkCount)
        #expect(try BlobManifest.decode(encoded, expecting: manifest.id) == manifest)
        #expect(try BlobManifest.decode(encoded) == manifest)
    }

    @Test func idsAreStableAcrossRunsAndFollowTheContent() throws {
        // Pinned values: the id is BLAKE2b-256 of the canonical manifest, and must never drift.
        #expect(BlobManifest.hashing(bytes: []).id.hex == "b607840f7492e072ac92fcec705ff832517de7b90e84fff296def769d15a79ab")
        #expect(BlobManifest.hashing(bytes: [0x61]).id.hex == "0745f67a452f4853bf6e51800a01a659ab28bc4ed3c1b7e49820b9ee0baab1dc")
        let bytes = randomBytes(3 * Self.chunk + 5)
        #expect(BlobManifest.hashing(bytes: bytes) == BlobManifest.hashing(bytes: bytes))
        var changed = bytes
        changed[2 * Self.chunk] ^= 1
        let a = BlobManifest.hashing(bytes: bytes), b = BlobManifest.hashing(bytes: changed)
        #expect(a.id != b.id)
        #expect(a.chunkHashes.enumerated().filter { b.chunkHashes[$0.offset] != $0.element }.map(\.offset) == [2])
    }

    @Test func hashingAFileMatchesHashingItsBytes() throws {
        let bytes = randomBytes(2 * Self.chunk + 1234, seed: 7)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tern-manifest-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        #expect(try BlobManifest.hashing(fileAt: path) == BlobManifest.hashing(bytes: bytes))
        #expect(throws: BlobError.self) { try BlobManifest.hashing(fileAt: path + ".missing") }
    }

    @Test func decodingRejectsEveryMalformedManifest() throws {
        let manifest = BlobManifest.hashing(bytes: randomBytes(2 * Self.chunk + 1))
        let good = manifest.encoded()
        func rejects(_ bytes: [UInt8], _ comment: Comment) {
            #expect(throws: BlobError.self, comment) { try BlobManifest.decode(bytes) }
        }
        rejects([], "empty")
        rejects(Array(good.dropLast()), "truncated hash")
        rejects(Array(good.prefix(10)), "truncated header")
        rejects(good + [0], "trailing byte")
        rejects(manifestBytes(version: 2, size: 1, count: 1), "unknown version")
        rejects(manifestBytes(size: UInt64(Self.chunk) + 1, count: 1), "too few chunks for the size")
        rejects(manifestBytes(size: UInt64(Self.chunk), count: 2), "too many chunks for the size")
        rejects(manifestBytes(size: 0, count: 1), "a chunk in an empty blob")
        rejects(manifestBytes(size: 100, chunkSize: 64, count: 2), "another chunk size")
        rejects(manifestBytes(size: 100, chunkSize: 0, count: 0), "zero chunk size")
        rejects(manifestBytes(size: UInt64.max, count: UInt32.max, hashCount: 0), "huge size")
        rejects(manifestBytes(size: BlobManifest.maxBlobSize + 1, count: 1 << 20 + 1, hashCount: 0), "just over the limit")
        rejects(manifestBytes(size: BlobManifest.maxBlobSize, count: 1 << 20, hashCount: 2), "hashes missing for the count")

        #expect(throws: BlobError.manifestMismatch(expected: BlobManifest.hashing(bytes: [1]).id, found: manifest.id)) {
            try BlobManifest.decode(good, expecting: BlobManifest.hashing(bytes: [1]).id)
        }
    }

    @Test func verifyAcceptsOnlyTheExactAnnouncedChunk() throws {
        let bytes = randomBytes(Self.chunk + 100, seed: 3)
        let manifest = BlobManifest.hashing(bytes: bytes)
        let first = Array(bytes[..<Self.chunk]), last = Array(bytes[Self.chunk...])
        #expect(manifest.verify(chunk: first, index: 0) && manifest.verify(chunk: last, index: 1))
        #expect(!manifest.verify(chunk: last + [0], index: 1), "longer than announced")
        #expect(!manifest.verify(chunk: Array(last.dropLast()), index: 1), "shorter than announced")
        var flipped = first
        flipped[12345] ^= 0x80
        #expect(!manifest.verify(chunk: flipped, index: 0), "flipped byte")
        #expect(!manifest.verify(chunk: first, index: 1) && !manifest.verify(chunk: last, index: 0), "wrong index")
        #expect(!manifest.verify(chunk: last, index: 2) && !manifest.verify(chunk: last, index: -1), "index out of range")
    }
}
