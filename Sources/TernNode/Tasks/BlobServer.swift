import Foundation
import TernMesh

/// Serves one `blob/1` stream: answers manifest and chunk requests in order until the peer
/// closes it. Only chunks the store has verified are served (a partial blob serves what it
/// has); a request that does not parse ends the stream and counts against the peer.
struct BlobServer: Sendable {
    let store: BlobStore
    let limiter: UploadLimiter
    let counters: TaskCounters

    /// Returns false when the peer sent something malformed (the caller lowers its score).
    func serve(_ connection: SecureConnection) async -> Bool {
        while true {
            let frame: [UInt8]
            do {
                guard let next = try await connection.receive() else { return true }
                frame = next
            } catch {
                return true
            }
            let request: BlobRequest
            do {
                request = try BlobRequest.decode(frame)
            } catch {
                counters.count("blob.badRequest")
                return false
            }
            let reply = await answer(request)
            do {
                try await connection.send(reply.encoded())
            } catch {
                return true
            }
        }
    }

    private func answer(_ request: BlobRequest) async -> BlobReply {
        switch request {
        case let .manifest(requestID, blob):
            guard let manifest = store.manifest(blob), let held = store.heldChunks(blob) else {
                counters.count("blob.notFound")
                return .failure(requestID: requestID, TaskFailure(.notFound, "blob \(blob.short) is not held here"))
            }
            let bytes = manifest.encoded()
            guard bytes.count <= TaskWireLimits.maxManifestBytes else {
                return .failure(requestID: requestID, TaskFailure(.tooLarge, "manifest of \(blob.short) exceeds one frame"))
            }
            return .manifest(requestID: requestID, manifest: bytes, held: HeldChunks.encode(held))
        case let .chunk(requestID, blob, index):
            do {
                let bytes = try store.readChunk(blob, index: Int(index))
                try await limiter.acquire(bytes.count)
                counters.count("blob.bytesServed", by: bytes.count)
                return .chunk(requestID: requestID, index: index, bytes: bytes)
            } catch {
                counters.count("blob.chunkUnavailable")
                return .failure(requestID: requestID, TaskFailure(.notFound, "chunk \(index) of \(blob.short): \(error)"))
            }
        }
    }
}
