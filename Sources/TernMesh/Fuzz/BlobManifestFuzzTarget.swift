/// `tern fuzz blob-manifest`: manifests a peer sends for a blob, through `BlobManifest.decode`.
///
/// Invariants: an accepted manifest re-encodes to exactly its input (the id is the hash of
/// those bytes, so two encodings would be two ids), decodes again under its own id, and
/// announces chunk ranges that tile its size.
public struct BlobManifestFuzzTarget: FuzzTarget {
    public let name = "blob-manifest"
    public let samples: [[UInt8]]

    public init() {
        let sizes = [0, 1, BlobManifest.defaultChunkSize, 2 * BlobManifest.defaultChunkSize + 5]
        samples = sizes.map { size in
            BlobManifest.hashing(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }).encoded()
        }
    }

    public mutating func consume(_ input: [UInt8]) -> FuzzVerdict {
        let manifest: BlobManifest
        do {
            manifest = try BlobManifest.decode(input)
        } catch let error as BlobError {
            return .rejected(error.fuzzLabel)
        } catch {
            return .violation("decode threw \(type(of: error)), not BlobError")
        }
        guard manifest.encoded() == input else { return .violation("a decoded manifest does not re-encode to its input") }
        guard (try? BlobManifest.decode(input, expecting: manifest.id)) == manifest else {
            return .violation("a decoded manifest does not decode under its own id")
        }
        let ranges = (0..<manifest.chunkCount).map { manifest.byteRange(ofChunk: $0) }
        guard ranges.last?.upperBound ?? 0 == manifest.size,
              zip(ranges, ranges.dropFirst()).allSatisfy({ $0.upperBound == $1.lowerBound }) else {
            return .violation("chunk ranges do not tile the blob")
        }
        return .accepted(manifest.chunkCount == 0 ? "empty" : "chunks")
    }
}
