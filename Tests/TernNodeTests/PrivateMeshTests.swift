import Foundation
import Testing
import TernMesh
import TernNode

/// Admission with real daemons: nodes that share a mesh key form a mesh; a node with
/// another key, pointed at them, is never heard and never admitted; and a bootstrap entry
/// pinned to a node id refuses an address that answers with another key.
@Suite(.serialized) struct PrivateMeshTests {
    typealias Daemon = MeshProcessTests.Daemon

    @Test func meshKeysKeepMeshesApartAndPinsRefuseImpostors() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: MeshProcessTests.ternBinary.path), "build the tern product first")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-private-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let ours = root.appendingPathComponent("ours.key"), theirs = root.appendingPathComponent("theirs.key")
        try Data((0..<32).map { UInt8($0) }).write(to: ours)
        try Data((0..<32).map { UInt8(255 - $0) }).write(to: theirs)
        let port = MeshProcessTests.freePortBase()
        let hosts = (0..<4).map { HostPort(host: "127.0.0.\(31 + $0)", port: port) }
        let daemons = hosts.indices.map { Daemon(root: root, index: $0, listen: hosts[$0], bootstrap: hosts[0]) }
        defer { daemons.forEach { $0.stop() } }
        daemons[0].extraArguments = ["--mesh-key", ours.path]
        daemons[1].extraArguments = ["--mesh-key", ours.path]
        daemons[2].extraArguments = ["--mesh-key", theirs.path]
        // Node 3 is in the open mesh and pins node 0's address to node 1's id: whoever answers
        // there with another key is refused.
        for daemon in daemons.prefix(3) { try daemon.start() }
        var clients: [ControlClient] = []
        for daemon in daemons.prefix(3) { clients.append(try await daemon.client()) }
        var ids: [String] = []
        for client in clients { ids.append(try await MeshProcessTests.eventually(seconds: 10) { try? await client.status().nodeID }) }
        daemons[3].bootstrapEntry = "\(hosts[0])@\(ids[1])"
        try daemons[3].start()
        clients.append(try await daemons[3].client())

        // The two holders of our key find each other.
        for (index, other) in [(0, 1), (1, 0)] {
            _ = try await MeshProcessTests.eventually("node \(index) sees node \(other)", seconds: 30) { () -> Bool? in
                let peers = (try? await clients[index].peers()) ?? []
                return peers.contains { $0.nodeID == ids[other] && $0.state == "alive" } ? true : nil
            }
        }
        // The outsiders' handshakes and datagrams are refused and counted, and nobody mixes.
        _ = try await MeshAttackTests.waitForDrops(["tcp.badHandshake"], clients: [clients[0]], seconds: 30)
        for index in 0..<4 {
            let peers = try await clients[index].peers()
            let expected: Set<String> = index == 0 ? [ids[1]] : index == 1 ? [ids[0]] : []
            #expect(Set(peers.map(\.nodeID)) == expected, "node \(index) lists \(peers.map(\.fingerprint))")
            #expect(daemons[index].isRunning)
        }
    }
}
