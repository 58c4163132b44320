import Foundation
import Synchronization
import TernMesh

/// What one fetch did, for `tern blob get` and the tests.
public struct BlobFetchReport: Codable, Sendable, Equatable {
    public var id: BlobID
    public var size: UInt64
    public var seconds: Double
    /// Chunks received and verified by this fetch.
    public var chunksFetched: Int
    /// Chunks already on disk from an earlier, interrupted fetch (or the whole blob).
    public var chunksAlreadyHeld: Int
    /// Chunks that failed verification (each from a peer now scored down and dropped).
    public var badChunks: Int
    /// Fingerprints of the peers that served chunks.
    public var servedBy: [String]
    /// Peers dropped during the fetch, with why.
    public var failedHolders: [String: String]

    public var megabytesPerSecond: Double {
        seconds > 0 ? Double(chunksFetched) * Double(BlobManifest.defaultChunkSize) / 1e6 / seconds : 0
    }
}

/// Fetches a blob from every peer that holds it at once: one manifest (checked against the
/// id), then chunks pulled from a shared queue by a few pipelined streams per holder. Each
/// chunk is verified before it is written; a peer that sends a bad chunk is scored down and
/// dropped, and its chunks go back to the queue for the others, as do the chunks of a peer
/// that vanishes. Verified chunks stay on disk, so a fetch interrupted by anything,
/// including a crash, resumes where it stopped.
struct BlobFetcher: Sendable {
    let store: BlobStore
    let dialer: PeerDialer
    let counters: TaskCounters
    /// Counts the verified bytes written (`blob.bytesFetched`).
    let activity: TaskCounters
    var streamsPerHolder = 3
    var window = 8
    var inventoryTimeout: Duration = .seconds(5)

    func fetch(_ blob: BlobID, kind: BlobKind, name: String?, hints: [NodeID]) async throws -> BlobFetchReport {
        let started = ContinuousClock.now
        if let info = store.info(blob), info.complete {
            return BlobFetchReport(id: blob, size: info.size, seconds: 0, chunksFetched: 0, chunksAlreadyHeld: info.chunkCount,
                                   badChunks: 0, servedBy: [], failedHolders: [:])
        }
        var holders = try await findHolders(of: blob, hints: hints)
        guard !holders.isEmpty else { throw FetchError.noHolders(blob) }
        var failed: [String: String] = [:]

        // The manifest from the first holder that gives a valid one.
        var manifest: BlobManifest?
        for holder in holders {
            do {
                let connection = try await dialer.open(holder, TaskProtocol.blob)
                defer { Task { await connection.close() } }
                manifest = try await BlobStreamClient(connection: connection, peer: holder).manifest(of: blob).0
                break
            } catch {
                failed[holder.fingerprint] = "manifest: \(error)"
                if !(error is TransportError || error is TaskFailure) {
                    counters.count("fetch.badManifest")
                    await dialer.misbehaved(holder)
                }
            }
        }
        holders.removeAll { failed[$0.fingerprint] != nil }
        guard let manifest else { throw FetchError.incomplete(blob, missing: -1, reasons: failed.map { "\($0): \($1)" }) }
        _ = try store.beginDownload(manifest, kind: kind, name: name)
        try store.pin(blob)
        defer { store.unpin(blob) }

        let alreadyHeld = manifest.chunkCount - store.missingChunks(blob).count
        let progress = FetchProgress()
        for _ in 0..<4 {
            let missing = store.missingChunks(blob)
            guard !missing.isEmpty, !holders.isEmpty else { break }
            let queue = ChunkQueue(missing)
            let outcomes = await withTaskGroup(of: (NodeID, HolderOutcome).self) { group in
                for holder in holders {
                    for _ in 0..<streamsPerHolder {
                        group.addTask { (holder, await self.pull(blob, manifest: manifest, from: holder, queue: queue, progress: progress)) }
                    }
                }
                var outcomes: [(NodeID, HolderOutcome)] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            for (holder, outcome) in outcomes {
                switch outcome {
                case .finished: break
                case let .failed(reason): failed[holder.fingerprint] = reason
                case let .badChunk(index):
                    failed[holder.fingerprint] = "sent a corrupt chunk \(index)"
                    await dialer.misbehaved(holder)
                case let .badReply(reason):
                    failed[holder.fingerprint] = reason
                    counters.count("fetch.badReply")
                    await dialer.misbehaved(holder)
                }
            }
            holders.removeAll { failed[$0.fingerprint] != nil }
        }
        let missing = store.missingChunks(blob).count
        counters.count("fetch.badChunk", by: progress.badChunks)
        guard missing == 0 else {
            throw FetchError.incomplete(blob, missing: missing, reasons: failed.map { "\($0): \($1)" })
        }
        return BlobFetchReport(
            id: blob, size: manifest.size, seconds: started.duration(to: .now).inSeconds,
            chunksFetched: progress.chunks, chunksAlreadyHeld: alreadyHeld, badChunks: progress.badChunks,
            servedBy: progress.servers.map(\.fingerprint).sorted(), failedHolders: failed)
    }

    /// Asks the hinted peers and the live members (at most 32 in all) which of them hold the
    /// blob, in parallel with a deadline; complete holders first.
    func findHolders(of blob: BlobID, hints: [NodeID]) async throws -> [NodeID] {
        var candidates = hints
        for member in await dialer.liveMembers() where !candidates.contains(member) { candidates.append(member) }
        candidates = Array(candidates.prefix(32))
        let timeout = inventoryTimeout
        let holdings = await withTaskGroup(of: (NodeID, BlobHolding?).self) { group in
            for peer in candidates {
                group.addTask {
                    let answer = try? await withDeadline(timeout) {
                        try await TaskClient(dialer: self.dialer).inventory(of: [blob], at: peer)
                    }
                    return (peer, answer?.first { $0.blob == blob })
                }
            }
            var found: [(NodeID, BlobHolding)] = []
            for await (peer, holding) in group {
                if let holding, holding.chunksHeld > 0 { found.append((peer, holding)) }
            }
            return found
        }
        return holdings.sorted { $0.1.chunksHeld > $1.1.chunksHeld }.map(\.0)
    }

    private enum HolderOutcome: Sendable {
        case finished
        case failed(String)
        case badChunk(Int)
        /// A reply that broke the protocol (oversize, out of order, undecodable).
        case badReply(String)
    }

    /// One stream to `holder`: keeps `window` chunk requests in flight, taking indices this
    /// holder serves from the shared queue, until the queue has none left for it.
    private func pull(_ blob: BlobID, manifest: BlobManifest, from holder: NodeID, queue: ChunkQueue,
                      progress: FetchProgress) async -> HolderOutcome {
        var client: BlobStreamClient?
        do {
            let connection = try await dialer.open(holder, TaskProtocol.blob)
            let stream = BlobStreamClient(connection: connection, peer: holder)
            client = stream
            defer { Task { await connection.close() } }
            var held = try await stream.manifest(of: blob).1
            while true {
                if queue.isAbandoned(by: holder) { break }
                while stream.outstanding.count < window, let index = queue.take(where: { held[$0] }) {
                    try await stream.requestChunk(index, of: blob)
                }
                if stream.outstanding.isEmpty { break }
                let (index, result) = try await stream.nextChunk(maxBytes: manifest.chunkSize)
                switch result {
                case let .success(bytes):
                    guard try store.writeChunk(blob, index: index, bytes: bytes) else {
                        progress.badChunk()
                        queue.giveBack([index] + stream.outstanding.map(\.index))
                        queue.abandon(holder)
                        return .badChunk(index)
                    }
                    progress.fetched(from: holder)
                    activity.count("blob.bytesFetched", by: bytes.count)
                case .failure:
                    held[index] = false
                    queue.giveBack([index])
                }
            }
            return .finished
        } catch {
            queue.giveBack(client?.outstanding.map(\.index) ?? [])
            queue.abandon(holder)
            if error is WireError || error is FetchError || error is BlobError { return .badReply("\(error)") }
            return .failed("\(error)")
        }
    }
}

/// The chunk indices still to fetch, shared by every stream of one fetch round.
final class ChunkQueue: Sendable {
    private struct State {
        var pending: [Int]
        var abandoned: Set<NodeID> = []
    }
    private let state: Mutex<State>

    init(_ indices: [Int]) { state = Mutex(State(pending: indices.reversed())) }

    /// The next pending index that `isServed` accepts (lowest first).
    func take(where isServed: (Int) -> Bool) -> Int? {
        state.withLock { state in
            guard let position = state.pending.lastIndex(where: isServed) else { return nil }
            return state.pending.remove(at: position)
        }
    }

    func giveBack(_ indices: [Int]) {
        guard !indices.isEmpty else { return }
        state.withLock { $0.pending.append(contentsOf: indices.sorted(by: >)) }
    }

    /// Every stream to `holder` stops at its next step (it sent a corrupt chunk).
    func abandon(_ holder: NodeID) { _ = state.withLock { $0.abandoned.insert(holder) } }
    func isAbandoned(by holder: NodeID) -> Bool { state.withLock { $0.abandoned.contains(holder) } }
}

/// Counts of one fetch, updated by its streams.
final class FetchProgress: Sendable {
    private struct State {
        var chunks = 0
        var badChunks = 0
        var servers: Set<NodeID> = []
    }
    private let state = Mutex(State())

    func fetched(from holder: NodeID) { state.withLock { $0.chunks += 1; $0.servers.insert(holder) } }
    func badChunk() { state.withLock { $0.badChunks += 1 } }
    var chunks: Int { state.withLock { $0.chunks } }
    var badChunks: Int { state.withLock { $0.badChunks } }
    var servers: Set<NodeID> { state.withLock { $0.servers } }
}

/// Runs `work`, throwing `CancellationError` if it has not finished within `timeout`.
func withDeadline<T: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw CancellationError()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
