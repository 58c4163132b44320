import Foundation
import Logging
import NIOCore
import TernLedger
import TernMesh
import TernNode

/// Task planes in one process, each on a real secure listener with its own store and
/// ledger, that reach each other by node id: the mesh runtime's part, without gossip.
///
/// Handshakes may take up to two minutes here, not the production 10 s: in the full suite,
/// synchronous model tests hold every thread of this process's cooperative pool for tens
/// of seconds, and an acceptor whose handshake task cannot run in time closes the stream
/// (a CI run saw "I/O on closed channel" that way). Daemons run model work on their compute
/// executor, so they do not starve like this.
final class InProcessMesh: Sendable {
    static let handshakeTimeout = TimeAmount.seconds(120)
    /// The fetcher's inventory question (a dial, a handshake and an answer), as patient.
    static let inventoryTimeout = Duration.seconds(120)

    struct Node: Sendable {
        let identity: NodeIdentity
        let plane: TaskPlane
        let ledger: Ledger
        let listener: SecureListener
        let compute: ComputeExecutor
    }

    let directory: URL
    let mesh = MeshID.open
    /// Node id → listening port, filled as nodes start (the dialers read it).
    let ports = Locked<[NodeID: Int]>([:])

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tern-planes-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// `serving`: what runs the completions peers forward to this node (none by default).
    func start(_ name: String, settings: TaskPlaneSettings = TaskPlaneSettings(),
               serving: (BlobStore) -> LocalServing? = { _ in nil }) async throws -> Node {
        let identity = try NodeIdentity.generate()
        let root = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let ledger = try Ledger.open(path: root.appendingPathComponent("ledger.sqlite").path)
        let store = try BlobStore(directory: root.appendingPathComponent("blobs"), ledger: ledger, quotaBytes: 1 << 30)
        let transport = identity.transportIdentity(in: mesh)
        let ports = self.ports
        let dialer = PeerDialer(
            open: { peer, protocolID in
                guard let port = ports.current[peer] else { throw TaskFailure(.notFound, "unknown peer") }
                return try await SecureConnection.connect(host: "127.0.0.1", port: port, identity: transport,
                                                          expectedPeer: peer.bytes, protocolID: protocolID,
                                                          handshakeTimeout: InProcessMesh.handshakeTimeout)
            },
            liveMembers: { ports.current.keys.filter { $0 != identity.nodeID } },
            misbehaved: { _ in })
        let compute = ComputeExecutor()
        var settings = settings
        settings.inventoryTimeout = InProcessMesh.inventoryTimeout
        let plane = TaskPlane(identity: identity, mesh: mesh, store: store, ledger: ledger, compute: compute, dialer: dialer,
                              settings: settings, logger: Logger(label: name), serving: serving(store))
        let listener = try await SecureListener.bind(host: "127.0.0.1", port: 0, identity: transport,
                                                     requirement: .allowedBy { _ in true }, protocols: TaskProtocol.all,
                                                     handshakeTimeout: InProcessMesh.handshakeTimeout)
        Task { for await connection in listener.connections { Task { await plane.handle(connection) } } }
        ports.update { $0[identity.nodeID] = listener.localAddress.port! }
        return Node(identity: identity, plane: plane, ledger: ledger, listener: listener, compute: compute)
    }

    /// Takes a node off the mesh: its listener closes and the others stop listing it.
    func stop(_ node: Node) async {
        ports.update { $0[node.identity.nodeID] = nil }
        await node.listener.close()
    }
}
