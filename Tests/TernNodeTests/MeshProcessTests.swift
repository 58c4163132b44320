import Foundation
import NIOCore
import Testing
import TernLedger
import TernMesh
import TernNode

/// Real daemons (`tern node start` processes) on 127.0.0.1: join, failure detection after
/// `kill -9`, rejoin after restart, and a hostile sixth process.
@Suite(.serialized) struct MeshProcessTests {
    /// The `tern` binary built next to this test bundle.
    static var ternBinary: URL {
        if let path = ProcessInfo.processInfo.environment["TERN_BIN"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tern")
    }

    final class Daemon {
        let directory: NodeDirectory
        let listen: HostPort
        let bootstrap: HostPort
        /// More `tern node start` flags (e.g. `--mesh-key FILE`); `bootstrapEntry` replaces
        /// the plain bootstrap address (e.g. with a pinned node id).
        var extraArguments: [String] = []
        /// SWIM protocol period: short, so failures are detected within a test's patience.
        var periodMillis = 500
        var bootstrapEntry: String?
        /// Variables added to the daemon's environment (e.g. `TERN_FAULT`).
        var environment: [String: String] = [:]
        var process: Process?

        init(root: URL, index: Int, listen: HostPort, bootstrap: HostPort) {
            directory = NodeDirectory(root.appendingPathComponent("node\(index)").path)
            self.listen = listen
            self.bootstrap = bootstrap
        }

        func start() throws {
            try? FileManager.default.removeItem(at: directory.controlEndpointFile)
            let p = Process()
            p.executableURL = MeshProcessTests.ternBinary
            p.arguments = ["node", "start", "--data", directory.url.path, "--listen", listen.description,
                           "--bootstrap", bootstrapEntry ?? bootstrap.description, "--period-ms", "\(periodMillis)", "--log-level", "warning"]
                + extraArguments
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
            try p.run()
            process = p
        }

        func kill9() {
            guard let p = process else { return }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            process = nil
        }

        func stop() {
            guard let p = process, p.isRunning else { return }
            p.terminate()
            p.waitUntilExit()
            process = nil
        }

        var isRunning: Bool { process?.isRunning ?? false }

        func client() async throws -> ControlClient {
            // Generous: in the full suite a dozen daemons start at once on two cores, each
            // measuring its throughput, beside the model tests.
            try await eventually(seconds: 120) { try? ControlClient(directory: self.directory) }
        }
    }

    /// Polls `probe` every 200 ms until it returns a value or `seconds` pass.
    static func eventually<T>(_ what: String = #function, line: Int = #line, seconds: Double,
                              _ probe: () async throws -> T?) async throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let value = try await probe() { return value }
            if Date() > deadline { throw TimedOut(what: "\(what) (line \(line)) after \(seconds) s") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
    struct TimedOut: Error { let what: String }

    static func freePortBase() -> Int { LoopbackPorts.freeBlock() }

    @Test func fiveDaemonsJoinDetectAFailureAndShrugOffForgeries() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.ternBinary.path), "build the tern product first")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-mesh-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = Self.freePortBase()
        let seed = HostPort(host: "127.0.0.1", port: base)
        let daemons = (0..<5).map { Daemon(root: root, index: $0, listen: HostPort(host: "127.0.0.1", port: base + $0), bootstrap: seed) }
        defer { daemons.forEach { $0.stop() } }
        for d in daemons { try d.start() }

        // 1. Everyone lists everyone else as alive (typically within 2 s; the deadline leaves
        // room for the other suites that hold both cores).
        var clients: [ControlClient] = []
        for d in daemons { clients.append(try await d.client()) }
        let joinStart = Date()
        for c in clients {
            _ = try await Self.eventually(seconds: max(1, 30 - Date().timeIntervalSince(joinStart))) {
                let peers = (try? await c.peers()) ?? []
                return peers.filter { $0.state == "alive" }.count == 4 ? true : nil
            }
        }

        // 2. kill -9 one: the others mark it dead (suspicion runs 6–12 periods of 500 ms).
        let victim = daemons[4]
        let victimID = try await clients[4].status().nodeID
        let oldIncarnation = try await clients[4].status().incarnation
        victim.kill9()
        let killedAt = Date()
        for c in clients.prefix(4) {
            _ = try await Self.eventually(seconds: max(1, 30 - Date().timeIntervalSince(killedAt))) {
                let peer = (try? await c.peers())?.first { $0.nodeID == victimID }
                return peer?.state == "dead" ? true : nil
            }
        }

        // 3. Restarted with its data directory it rejoins under the same id, higher incarnation.
        try victim.start()
        let revived = try await victim.client()
        let status = try await Self.eventually(seconds: 10) { try? await revived.status() }
        #expect(status.nodeID == victimID)
        #expect(status.incarnation > oldIncarnation)
        for c in clients.prefix(4) {
            _ = try await Self.eventually(seconds: 10) {
                let peer = (try? await c.peers())?.first { $0.nodeID == victimID }
                return peer?.state == "alive" && (peer?.incarnation ?? 0) > oldIncarnation ? true : nil
            }
        }

        // 4. A sixth process (this one) sends garbage, forged, replayed and oversize packets.
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: base)
        let udp = try await UDPChannel.bind(host: "127.0.0.1", port: 0)
        let attacker = try NodeIdentity.generate()
        let victimNode = try #require(Hex.decode(try await clients[1].status().nodeID).flatMap(NodeID.init(bytes:)))
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let ping = SWIMMessage(kind: .ping(probe: 7)).encoded()
        let forged = GossipEnvelope.seal(body: ping, sequence: now << 16, timestampMillis: now,
                                         signer: MeshAttackTests.Forger(nodeID: victimNode, key: attacker))
        let genuine = GossipEnvelope.seal(body: ping, sequence: now << 16, timestampMillis: now, signer: attacker)
        // A genuine envelope carrying an alive record for a made-up member, signed by the
        // attacker instead of the member: it must never be admitted.
        let phantom = try NodeIdentity.generate()
        let phantomRecord = MembershipUpdate.alive(incarnation: 0, endpoint: "127.0.0.1:9", signer: MeshAttackTests.Forger(nodeID: phantom.nodeID, key: attacker), mesh: .open)
        let phantomClaim = GossipEnvelope.seal(body: SWIMMessage(kind: .ping(probe: 8), updates: [phantomRecord]).encoded(),
                                               sequence: (now << 16) + 1, timestampMillis: now, signer: attacker)
        try await udp.send(Array("not a tern packet".utf8), to: target)
        try await udp.send(forged, to: target)
        try await udp.send(genuine, to: target)
        try await udp.send(genuine, to: target) // replay
        try await udp.send(phantomClaim, to: target)
        try await udp.send([UInt8](repeating: 1, count: 4000), to: target)
        await udp.close()
        let drops = try await Self.eventually(seconds: 5) { () -> [String: Int]? in
            let d = (try? await clients[0].status())?.dropped ?? [:]
            // Wait for every kind: the datagrams are handled in order but the status can be
            // read between them (the oversize one, sent last, was once not yet counted).
            let all = ["badSignature", "replayed", "unknownVersion", "oversize", "record.badSignature"].allSatisfy { (d[$0] ?? 0) >= 1 }
            return all ? d : nil
        }
        // The text is read as an unknown version; the 4000 bytes exceed the packet limit.
        #expect((drops["unknownVersion"] ?? 0) >= 1 && (drops["oversize"] ?? 0) >= 1)
        for (d, c) in zip(daemons, clients.prefix(4) + [revived]) {
            #expect(d.isRunning)
            let peers = try await Self.eventually(seconds: 10) { () -> [PeerRow]? in
                let peers = (try? await c.peers()) ?? []
                return peers.filter { $0.state == "alive" }.count == 4 ? peers : nil
            }
            #expect(!peers.contains { $0.nodeID == phantom.nodeID.hex })
        }

        // Each daemon's self-benchmark reaches the others through its re-published profile.
        _ = try await Self.eventually(seconds: 30) { () -> Bool? in
            let peers = (try? await clients[0].peers()) ?? []
            return peers.count == 4 && peers.allSatisfy { ($0.gops ?? 0) > 0 && $0.cores != nil } ? true : nil
        }

        // 5. The ledger recorded the victim's life: alive → … → dead → alive.
        daemons[0].stop()
        let ledger = try Ledger.open(path: daemons[0].directory.ledgerFile.path)
        let states = try ledger.membershipEvents(nodeID: victimID).map(\.toState)
        #expect(states.first == .alive)
        #expect(states.contains(.dead))
        #expect(states.last == .alive)
    }
}
