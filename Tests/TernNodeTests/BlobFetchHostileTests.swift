import Foundation
import Logging
import Testing
import TernLedger
import TernMesh
import TernNode

/// A fetch from a holder that lies: every kind of bad reply is refused with a clear error,
/// counted against the peer, and leaves nothing in the store that could be served.
@Suite struct BlobFetchHostileTests {
    enum Lie: CaseIterable, Sendable {
        case truncatedManifest, manifestOfAnotherBlob, oversizeChunk, corruptChunk
    }

    /// A holder on a real secure listener that claims to hold `manifest` and answers with `lie`.
    struct LyingHolder {
        let identity: NodeIdentity
        let listener: SecureListener

        static func start(mesh: MeshID, manifest: BlobManifest, content: [UInt8], lie: Lie) async throws -> LyingHolder {
            let identity = try NodeIdentity.generate()
            let listener = try await SecureListener.bind(
                host: "127.0.0.1", port: 0, identity: identity.transportIdentity(in: mesh),
                requirement: .allowedBy { _ in true }, protocols: TaskProtocol.all,
                handshakeTimeout: InProcessMesh.handshakeTimeout)
            Task {
                for await connection in listener.connections {
                    Task { await serve(connection, manifest: manifest, content: content, lie: lie) }
                }
            }
            return LyingHolder(identity: identity, listener: listener)
        }

        static func serve(_ connection: SecureConnection, manifest: BlobManifest, content: [UInt8], lie: Lie) async {
            defer { Task { await connection.close() } }
            while let frame = try? await connection.receive() {
                let reply: [UInt8]
                if let request = try? TaskRequest.decode(frame), case let .inventory(id, _) = request {
                    reply = TaskReply.inventory(requestID: id, holdings: [BlobHolding(
                        blob: manifest.id, chunksHeld: UInt32(manifest.chunkCount), chunkCount: UInt32(manifest.chunkCount))]).encoded()
                } else if let request = try? BlobRequest.decode(frame) {
                    switch request {
                    case let .manifest(id, _):
                        var bytes = manifest.encoded()
                        switch lie {
                        case .truncatedManifest: bytes.removeLast(7)
                        case .manifestOfAnotherBlob: bytes = BlobManifest.hashing(bytes: [1, 2, 3]).encoded()
                        default: break
                        }
                        reply = BlobReply.manifest(requestID: id, manifest: bytes,
                                                   held: HeldChunks.encode([Bool](repeating: true, count: manifest.chunkCount))).encoded()
                    case let .chunk(id, _, index):
                        let range = manifest.byteRange(ofChunk: Int(index))
                        var bytes = Array(content[Int(range.lowerBound)..<Int(range.upperBound)])
                        switch lie {
                        case .oversizeChunk: bytes += [0]
                        case .corruptChunk: bytes[bytes.count / 2] ^= 0x40
                        default: break
                        }
                        reply = BlobReply.chunk(requestID: id, index: index, bytes: bytes).encoded()
                    }
                } else {
                    return
                }
                guard (try? await connection.send(reply)) != nil else { return }
            }
        }
    }

    @Test(arguments: Lie.allCases)
    func aLyingHolderIsCaughtAndNothingHalfWrittenIsServed(_ lie: Lie) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tern-hostile-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let content = (0..<(2 << 20) + 12_345).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let manifest = BlobManifest.hashing(bytes: content)
        let mesh = MeshID.open
        let holder = try await LyingHolder.start(mesh: mesh, manifest: manifest, content: content, lie: lie)
        defer { Task { await holder.listener.close() } }

        let ledger = try Ledger.open(path: directory.appendingPathComponent("ledger.sqlite").path)
        let store = try BlobStore(directory: directory.appendingPathComponent("blobs"), ledger: ledger, quotaBytes: 1 << 30)
        let identity = try NodeIdentity.generate()
        let penalized = Locked<[NodeID]>([])
        let port = holder.listener.localAddress.port!
        let dialer = PeerDialer(
            open: { peer, protocolID in
                try await SecureConnection.connect(host: "127.0.0.1", port: port, identity: identity.transportIdentity(in: mesh),
                                                   expectedPeer: peer.bytes, protocolID: protocolID,
                                                   handshakeTimeout: InProcessMesh.handshakeTimeout)
            },
            liveMembers: { [holder.identity.nodeID] },
            misbehaved: { peer in penalized.update { $0.append(peer) } })
        let compute = ComputeExecutor()
        defer { compute.shutDown() }
        // As patient as the handshake (InProcessMesh): model tests may hold this process's
        // cooperative threads for seconds, and the inventory question must not time out then.
        var settings = TaskPlaneSettings()
        settings.inventoryTimeout = .seconds(120)
        let plane = TaskPlane(identity: identity, mesh: mesh, store: store, ledger: ledger, compute: compute, dialer: dialer,
                              settings: settings, logger: Logger(label: "test"))

        await #expect(throws: (any Error).self) { try await plane.fetch(manifest.id, kind: .dataset) }
        #expect(!penalized.current.isEmpty && penalized.current.allSatisfy { $0 == holder.identity.nodeID },
                "\(lie): the liar loses score")
        #expect(store.info(manifest.id)?.complete != true)
        #expect(throws: (any Error).self) { try store.path(of: manifest.id) }
        switch lie {
        case .truncatedManifest, .manifestOfAnotherBlob:
            #expect(plane.counts["fetch.badManifest"] == 1, "\(plane.counts)")
            #expect(store.info(manifest.id) == nil, "no download starts without a valid manifest")
        case .oversizeChunk:
            #expect(plane.counts["fetch.badReply", default: 0] >= 1, "\(plane.counts)")
            #expect(store.info(manifest.id)?.chunksHeld == 0)
        case .corruptChunk:
            #expect(plane.counts["fetch.badChunk", default: 0] >= 1, "\(plane.counts)")
            #expect(store.info(manifest.id)?.chunksHeld == 0)
        }
    }
}
