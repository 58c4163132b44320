/// Messages of the `blob/1` stream: the fetching side asks for a manifest, then for chunks
/// (pipelined, answered in order); the serving side answers each request by its id.
/// Every message is one frame, the first byte its tag (docs/protocol.md §10).
public enum BlobRequest: Sendable, Equatable {
    case manifest(requestID: UInt32, blob: BlobID)
    case chunk(requestID: UInt32, blob: BlobID, index: UInt32)

    public var requestID: UInt32 {
        switch self {
        case let .manifest(id, _), let .chunk(id, _, _): id
        }
    }

    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: 48)
        switch self {
        case let .manifest(requestID, blob):
            writer.u8(1); writer.u32(requestID); writer.blobID(blob)
        case let .chunk(requestID, blob, index):
            writer.u8(2); writer.u32(requestID); writer.blobID(blob); writer.u32(index)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> BlobRequest {
        var reader = WireReader(bytes)
        let message: BlobRequest
        switch try reader.tag("blob request") {
        case 1: message = .manifest(requestID: try reader.u32("request id"), blob: try reader.blobID("blob id"))
        case 2: message = .chunk(requestID: try reader.u32("request id"), blob: try reader.blobID("blob id"),
                                 index: try reader.u32("chunk index"))
        case let other: throw .invalidValue(field: "blob request tag", value: UInt64(other))
        }
        try reader.expectEnd()
        return message
    }
}

public enum BlobReply: Sendable, Equatable {
    /// The manifest's canonical bytes (the requester checks they hash to the id) and which
    /// chunks this holder can serve, one bit a chunk, least significant bit first.
    case manifest(requestID: UInt32, manifest: [UInt8], held: [UInt8])
    case chunk(requestID: UInt32, index: UInt32, bytes: [UInt8])
    case failure(requestID: UInt32, TaskFailure)

    public var requestID: UInt32 {
        switch self {
        case let .manifest(id, _, _), let .chunk(id, _, _), let .failure(id, _): id
        }
    }

    public func encoded() -> [UInt8] {
        var writer: WireWriter
        switch self {
        case let .manifest(requestID, manifest, held):
            writer = WireWriter(capacity: manifest.count + held.count + 16)
            writer.u8(0x81); writer.u32(requestID); writer.longBlob(manifest); writer.longBlob(held)
        case let .chunk(requestID, index, bytes):
            writer = WireWriter(capacity: bytes.count + 16)
            writer.u8(0x82); writer.u32(requestID); writer.u32(index); writer.longBlob(bytes)
        case let .failure(requestID, failure):
            writer = WireWriter(capacity: 64)
            writer.u8(0xFF); writer.u32(requestID); failure.write(to: &writer)
        }
        return writer.bytes
    }

    /// - Parameter maxChunkBytes: the largest chunk the requester accepts (the manifest's
    ///   chunk size); a larger one is refused before it is copied.
    public static func decode(_ bytes: [UInt8], maxChunkBytes: Int) throws(WireError) -> BlobReply {
        var reader = WireReader(bytes)
        let message: BlobReply
        switch try reader.tag("blob reply") {
        case 0x81:
            let requestID = try reader.u32("request id")
            let manifest = try reader.longBlob("manifest", maxBytes: TaskWireLimits.maxManifestBytes)
            message = .manifest(requestID: requestID, manifest: manifest,
                                held: try reader.longBlob("held chunks", maxBytes: TaskWireLimits.maxManifestBytes / 256 + 1))
        case 0x82:
            message = .chunk(requestID: try reader.u32("request id"), index: try reader.u32("chunk index"),
                             bytes: try reader.longBlob("chunk", maxBytes: maxChunkBytes))
        case 0xFF:
            message = .failure(requestID: try reader.u32("request id"), try TaskFailure.read(from: &reader))
        case let other: throw .invalidValue(field: "blob reply tag", value: UInt64(other))
        }
        try reader.expectEnd()
        return message
    }
}

/// One bit a chunk, least significant bit of byte 0 first: which chunks a holder serves.
public enum HeldChunks {
    public static func encode(_ held: [Bool]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: (held.count + 7) / 8)
        for (index, isHeld) in held.enumerated() where isHeld { bytes[index / 8] |= 1 << UInt8(index % 8) }
        return bytes
    }

    /// Exactly `count` flags; bits past the bytes given read as not held.
    public static func decode(_ bytes: [UInt8], count: Int) -> [Bool] {
        (0..<count).map { index in index / 8 < bytes.count && bytes[index / 8] & (1 << UInt8(index % 8)) != 0 }
    }
}
