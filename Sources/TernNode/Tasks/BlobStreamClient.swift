import TernMesh

/// The fetching side of one `blob/1` stream: asks for a manifest, then keeps several chunk
/// requests in flight (the server answers in order) so the link never idles between chunks.
final class BlobStreamClient {
    let connection: SecureConnection
    let peer: NodeID
    private var nextRequestID: UInt32 = 1
    /// Requests sent and not yet answered, oldest first: (request id, chunk index).
    private(set) var outstanding: [(requestID: UInt32, index: Int)] = []

    init(connection: SecureConnection, peer: NodeID) {
        self.connection = connection
        self.peer = peer
    }

    /// The manifest of `blob`, checked against its id, and which chunks this peer serves.
    func manifest(of blob: BlobID) async throws -> (BlobManifest, [Bool]) {
        let requestID = takeRequestID()
        try await connection.send(BlobRequest.manifest(requestID: requestID, blob: blob).encoded())
        guard let frame = try await connection.receive() else { throw TransportError.connectionClosed }
        switch try BlobReply.decode(frame, maxChunkBytes: 0) {
        case let .manifest(id, bytes, held) where id == requestID:
            let manifest = try BlobManifest.decode(bytes, expecting: blob)
            return (manifest, HeldChunks.decode(held, count: manifest.chunkCount))
        case let .failure(id, failure) where id == requestID:
            throw failure
        default:
            throw FetchError.protocolViolation("answer to another request")
        }
    }

    func requestChunk(_ index: Int, of blob: BlobID) async throws {
        let requestID = takeRequestID()
        outstanding.append((requestID, index))
        try await connection.send(BlobRequest.chunk(requestID: requestID, blob: blob, index: UInt32(index)).encoded())
    }

    /// The answer to the oldest outstanding request: its chunk bytes, or the failure the
    /// peer reported for it.
    func nextChunk(maxBytes: Int) async throws -> (index: Int, result: Result<[UInt8], TaskFailure>) {
        guard let (requestID, index) = outstanding.first else { throw FetchError.protocolViolation("no request outstanding") }
        guard let frame = try await connection.receive() else { throw TransportError.connectionClosed }
        outstanding.removeFirst()
        switch try BlobReply.decode(frame, maxChunkBytes: maxBytes) {
        case let .chunk(id, answered, bytes) where id == requestID && Int(answered) == index:
            return (index, .success(bytes))
        case let .failure(id, failure) where id == requestID:
            return (index, .failure(failure))
        default:
            throw FetchError.protocolViolation("chunk reply out of order")
        }
    }

    private func takeRequestID() -> UInt32 {
        defer { nextRequestID &+= 1 }
        return nextRequestID
    }
}

/// Why a fetch failed, for people.
public enum FetchError: Error, Sendable, CustomStringConvertible {
    case noHolders(BlobID)
    case protocolViolation(String)
    case incomplete(BlobID, missing: Int, reasons: [String])

    public var description: String {
        switch self {
        case let .noHolders(blob): "no live peer holds blob \(blob.hex)"
        case let .protocolViolation(what): "peer broke the blob protocol: \(what)"
        case let .incomplete(blob, missing, reasons):
            "blob \(blob.short): \(missing) chunk(s) could not be fetched from any holder (\(reasons.joined(separator: "; ")))"
        }
    }
}
