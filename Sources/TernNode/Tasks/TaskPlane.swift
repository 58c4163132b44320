import Foundation
import Logging
import Synchronization
import TernLedger
import TernMesh

/// The node's task plane: serves `blob/1` and `task/1` streams to peers, fetches blobs from
/// the mesh, and sends jobs to peers and runs theirs. Protocol checks live in the message
/// types (TernMesh); this shell owns the store, the ledger and the compute executor, on
/// which every job runs — never on the threads that answer the network.
public final class TaskPlane: Sendable {
    public let identity: NodeIdentity
    public let mesh: MeshID
    public let store: BlobStore
    let ledger: Ledger
    let compute: ComputeExecutor
    let dialer: PeerDialer
    let settings: TaskPlaneSettings
    let logger: Logger
    /// Runs the completions peers forward (`complete` jobs); nil refuses them.
    public let serving: LocalServing?
    let counters = TaskCounters()
    /// What the task plane did, as opposed to what it refused (`counters`): jobs completed
    /// for peers, blob bytes fetched. Read by `/metrics`, kept out of `tern node status`'s drops.
    let activity = TaskCounters()
    private let limiter: UploadLimiter
    private let streamQuota: StreamQuota
    private let runningJobs = Mutex(0)
    private let isGraylisted: @Sendable (NodeID) async -> Bool

    /// A task plane that reaches peers through `dialer` (tests wire planes to each other
    /// directly; the daemon uses `init(runtime:…)`).
    public init(identity: NodeIdentity, mesh: MeshID, store: BlobStore, ledger: Ledger, compute: ComputeExecutor,
         dialer: PeerDialer, settings: TaskPlaneSettings, logger: Logger, serving: LocalServing? = nil,
         isGraylisted: @escaping @Sendable (NodeID) async -> Bool = { _ in false }) {
        self.identity = identity
        self.mesh = mesh
        self.store = store
        self.ledger = ledger
        self.compute = compute
        self.dialer = dialer
        self.settings = settings
        self.logger = logger
        self.serving = serving
        self.isGraylisted = isGraylisted
        limiter = UploadLimiter(bytesPerSecond: settings.uploadBytesPerSecond)
        streamQuota = StreamQuota(limit: settings.streamsPerPeer)
    }

    /// The task plane of a daemon: peers are reached through the mesh runtime's view.
    public convenience init(runtime: MeshRuntime, store: BlobStore, ledger: Ledger, compute: ComputeExecutor,
                            settings: TaskPlaneSettings, logger: Logger, serving: LocalServing? = nil) {
        let identity = runtime.identity
        let transport = identity.transportIdentity(in: runtime.mesh)
        let dialer = PeerDialer(
            open: { peer, protocolID in
                guard let address = await runtime.streamAddress(of: peer) else {
                    throw TaskFailure(.notFound, "peer \(peer.fingerprint) is not a live member")
                }
                return try await SecureConnection.connect(
                    host: address.host, port: address.port, identity: transport, expectedPeer: peer.bytes,
                    protocolID: protocolID, handshakeTimeout: .seconds(5))
            },
            liveMembers: { await runtime.liveMembers() },
            misbehaved: { peer in await runtime.reportMisbehaviour(of: peer) })
        self.init(identity: identity, mesh: runtime.mesh, store: store, ledger: ledger, compute: compute,
                  dialer: dialer, settings: settings, logger: logger, serving: serving,
                  isGraylisted: { await runtime.isGraylisted($0) })
    }

    /// Refusals and failures by reason, for `tern node status`.
    public var counts: [String: Int] { counters.snapshot }

    /// Work done, by kind (`jobs.completed`, `blob.bytesFetched`), for `/metrics`.
    public var activityCounts: [String: Int] { activity.snapshot }

    // MARK: Serving peers

    /// Serves one authenticated stream until it ends.
    public func handle(_ connection: SecureConnection) async {
        defer { Task { await connection.close() } }
        guard let peer = NodeID(bytes: connection.peerIdentity) else { return }
        guard await !isGraylisted(peer) else { return counters.count("task.graylisted") }
        let key = "\(connection.protocolID) \(peer.hex)"
        guard streamQuota.take(key) else { return counters.count("task.streamsPerPeer") }
        defer { streamQuota.release(key) }
        switch connection.protocolID {
        case TaskProtocol.blob:
            let server = BlobServer(store: store, limiter: limiter, counters: counters)
            if await !server.serve(connection) { await dialer.misbehaved(peer) }
        case TaskProtocol.task:
            await serveTasks(connection, from: peer)
        default:
            counters.count("task.unknownProtocol")
        }
    }

    private func serveTasks(_ connection: SecureConnection, from peer: NodeID) async {
        while let frame = try? await connection.receive() {
            let request: TaskRequest
            do {
                request = try TaskRequest.decode(frame)
            } catch {
                counters.count("task.badRequest")
                await dialer.misbehaved(peer)
                try? await connection.send(TaskReply.failure(requestID: 0, TaskFailure(.badRequest, "\(error)")).encoded())
                return
            }
            switch request {
            case let .inventory(requestID, blobs):
                let holdings = blobs.compactMap { blob -> BlobHolding? in
                    guard let info = store.info(blob), info.chunksHeld > 0 else { return nil }
                    return BlobHolding(blob: blob, chunksHeld: UInt32(info.chunksHeld), chunkCount: UInt32(info.chunkCount))
                }
                guard (try? await connection.send(TaskReply.inventory(requestID: requestID, holdings: holdings).encoded())) != nil
                else { return }
            case let .submit(requestID, job):
                guard await JobWorker(plane: self, connection: connection, requester: peer, requestID: requestID, job: job).run()
                else { return }
            case .accept, .reject, .cancel:
                // Outside a job these answer nothing; a peer that sends them is confused.
                counters.count("task.unexpected")
            }
        }
    }

    // MARK: Job slots

    /// Takes one of `--max-jobs` slots; false when all are taken.
    func reserveJobSlot() -> Bool {
        runningJobs.withLock { running in
            guard running < settings.maxJobs else { return false }
            running += 1
            return true
        }
    }

    func releaseJobSlot() { runningJobs.withLock { $0 -= 1 } }

    /// Jobs from peers running now.
    public var jobsRunning: Int { runningJobs.withLock { $0 } }

    // MARK: Blobs for this node's own use

    func fetcher() -> BlobFetcher {
        var fetcher = BlobFetcher(store: store, dialer: dialer, counters: counters, activity: activity)
        fetcher.inventoryTimeout = settings.inventoryTimeout
        return fetcher
    }

    /// Fetches `blob` from the mesh into the store (resuming a partial one).
    public func fetch(_ blob: BlobID, kind: BlobKind = .model, name: String? = nil, hints: [NodeID] = []) async throws -> BlobFetchReport {
        try await fetcher().fetch(blob, kind: kind, name: name, hints: hints)
    }

    /// Live members whose id starts with `prefix` (hex, at least 4 digits): exactly one, or an error.
    public func peer(matching prefix: String) async throws -> NodeID {
        let wanted = prefix.lowercased()
        guard wanted.count >= 4 else { throw TaskFailure(.badRequest, "a peer prefix needs at least 4 hex digits") }
        let matches = await dialer.liveMembers().filter { $0.hex.hasPrefix(wanted) || $0.fingerprint.hasPrefix(wanted) }
        guard matches.count == 1 else {
            throw TaskFailure(.notFound, matches.isEmpty ? "no live peer matches \(prefix)"
                                                        : "\(matches.count) live peers match \(prefix); give more digits")
        }
        return matches[0]
    }
}
