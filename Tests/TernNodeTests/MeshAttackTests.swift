import TernSupport
import Foundation
import NIOCore
import Testing
import TernLedger
import TernMesh
import TernNode
#if canImport(Glibc)
import Glibc
#endif

/// Real daemons (`tern node start` processes on 127.0.0.21–24) against a scripted hostile
/// peer: this test process, sending from 127.0.0.66 as an outsider ("mallory", a fresh key)
/// and abusing the key of one member (node 3) the way a compromised member would. After each
/// attack the victims must still run, their view of the mesh must stay right, and each
/// rejection must be counted by reason in `tern node status --json`'s `dropped` object.
@Suite(.serialized) struct MeshAttackTests {
    typealias Daemon = MeshProcessTests.Daemon

    /// The hostile peer: an outsider key, UDP sockets on 127.0.0.66 and a sequence counter.
    final class Attacker: @unchecked Sendable {
        let mallory = try! NodeIdentity.generate()
        let udp: UDPChannel
        private var sequence = UInt64(Date().timeIntervalSince1970 * 1000) << 16

        init() async throws { udp = try await UDPChannel.bind(host: "127.0.0.66", port: 0) }

        var now: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

        /// A genuine envelope from mallory carrying `updates` and `profiles`.
        func envelope(_ updates: [MembershipUpdate] = [], profiles: [SignedProfile] = [], signer: NodeIdentity? = nil) -> [UInt8] {
            sequence += 1
            let body = SWIMMessage(kind: .ping(probe: UInt32(truncatingIfNeeded: sequence)), updates: updates, profiles: profiles).encoded()
            return GossipEnvelope.seal(body: body, sequence: sequence, timestampMillis: now, signer: signer ?? mallory)
        }

        func send(_ packet: [UInt8], to targets: [SocketAddress]) async throws {
            for target in targets { try await udp.send(packet, to: target) }
        }
    }

    /// Signs with `key` while naming `nodeID`: a forgery.
    struct Forger: EnvelopeSigner {
        let nodeID: NodeID
        let key: NodeIdentity
        func sign(_ message: [UInt8]) -> [UInt8] { key.sign(message) }
    }

    static func id(_ hex: String) throws -> NodeID { try #require(Hex.decode(hex).flatMap(NodeID.init(bytes:))) }

    /// Polls every daemon's `dropped` counters until `reasons` are all counted somewhere.
    static func waitForDrops(_ reasons: [String], clients: [ControlClient], seconds: Double = 20,
                             line: Int = #line) async throws -> [String: Int] {
        try await MeshProcessTests.eventually("drops \(reasons)", line: line, seconds: seconds) { () -> [String: Int]? in
            var total: [String: Int] = [:]
            for client in clients {
                for (reason, count) in (try? await client.status())?.dropped ?? [:] { total[reason, default: 0] += count }
            }
            return reasons.allSatisfy { (total[$0] ?? 0) > 0 } ? total : nil
        }
    }

    /// Every daemon runs and lists the other honest nodes as alive, and nobody else.
    static func meshIsIntact(_ daemons: [Daemon], clients: [ControlClient], ids: [String], seconds: Double = 30,
                             line: Int = #line) async throws {
        for (index, client) in clients.enumerated() {
            #expect(daemons[index].isRunning, "daemon \(index) died", sourceLocation: SourceLocation(fileID: #fileID, filePath: #filePath, line: line, column: 1))
            let others = Set(ids).subtracting([ids[index]])
            _ = try await MeshProcessTests.eventually("view of daemon \(index)", line: line, seconds: seconds) { () -> Bool? in
                let peers = (try? await client.peers()) ?? []
                let alive = Set(peers.filter { $0.state == "alive" }.map(\.nodeID))
                return alive == others && peers.allSatisfy { others.contains($0.nodeID) } ? true : nil
            }
        }
    }

    @Test func hostilePeersCannotCrashFoolOrExhaustTheMesh() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: MeshProcessTests.ternBinary.path), "build the tern product first")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-attack-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let port = MeshProcessTests.freePortBase()
        let hosts = (0..<4).map { HostPort(host: "127.0.0.\(21 + $0)", port: port) }
        let daemons = hosts.indices.map { Daemon(root: root, index: $0, listen: hosts[$0], bootstrap: hosts[0]) }
        defer { daemons.forEach { $0.stop() } }
        // One-second periods: the suite runs beside tests that hold both cores, and a
        // daemon starved of CPU for a few 500 ms periods can be suspected and, unable to
        // refute in time, die for real, which would hide what the attacks did or did not do.
        for daemon in daemons {
            daemon.periodMillis = 1_000
            try daemon.start()
        }
        var clients: [ControlClient] = []
        for daemon in daemons { clients.append(try await daemon.client()) }
        var ids: [String] = []
        for client in clients { ids.append(try await MeshProcessTests.eventually(seconds: 10) { try? await client.status().nodeID }) }
        try await Self.meshIsIntact(daemons, clients: clients, ids: ids)

        let attacker = try await Attacker()
        defer { Task { await attacker.udp.close() } }
        let targets = try hosts.prefix(3).map { try SocketAddress(ipAddress: $0.host, port: $0.port) }
        let victim = try Self.id(ids[0])
        // Node 3's key, stolen: a member that turned hostile.
        let member = try NodeIdentity.loadOrCreate(inDirectory: daemons[3].directory.url.path)
        #expect(member.nodeID.hex == ids[3])
        let victimIncarnation = try await clients[0].status().incarnation

        // 1. Incarnation overflow: accusations and claims at UInt64.max.
        try await attacker.send(attacker.envelope([
            .dead(victim, incarnation: .max, accuser: member, mesh: .open),
            .suspect(victim, incarnation: .max, accuser: member, mesh: .open),
            .alive(incarnation: .max, endpoint: "127.0.0.66:9", signer: member, mesh: .open),
            .alive(incarnation: .max, endpoint: "127.0.0.66:9", signer: attacker.mallory, mesh: .open),
        ]), to: targets)
        _ = try await Self.waitForDrops(["record.futureIncarnation", "record.incarnationJump"], clients: clients)

        // 2. False claims by a non-member: dead, left and a moved address for the victim.
        try await attacker.send(attacker.envelope([
            .dead(victim, incarnation: victimIncarnation, accuser: attacker.mallory, mesh: .open),
            .left(incarnation: victimIncarnation + 1, signer: Forger(nodeID: victim, key: attacker.mallory), mesh: .open),
            .alive(incarnation: victimIncarnation + 1, endpoint: "127.0.0.66:9", signer: Forger(nodeID: victim, key: attacker.mallory), mesh: .open),
        ]), to: targets)
        _ = try await Self.waitForDrops(["record.accuserNotMember", "record.badSignature"], clients: clients)

        // 3. The same by a member: its accusation only starts a suspicion the victim refutes;
        //    it cannot retire or move the victim. A forged co-accuser (node 2's name, the
        //    member's signature) does not count.
        try await attacker.send(attacker.envelope([
            .dead(victim, incarnation: victimIncarnation, accuser: member, mesh: .open),
            .suspect(victim, incarnation: victimIncarnation, accuser: Forger(nodeID: try Self.id(ids[2]), key: member), mesh: .open),
            .left(incarnation: victimIncarnation + 1, signer: Forger(nodeID: victim, key: member), mesh: .open),
            .alive(incarnation: victimIncarnation + 1, endpoint: "127.0.0.66:9", signer: Forger(nodeID: victim, key: member), mesh: .open),
        ]), to: Array(targets.dropFirst()))
        _ = try await MeshProcessTests.eventually("the victim refutes", seconds: 20) { () -> Bool? in
            let status = try? await clients[0].status()
            return (status?.incarnation ?? 0) > victimIncarnation ? true : nil
        }

        // 4. Profile flood: validly signed profiles of 40 strangers.
        for batch in 0..<10 {
            let profiles = try (0..<4).map { index -> SignedProfile in
                let stranger = try NodeIdentity.generate()
                let profile = HardwareProfile(
                    nodeID: stranger.nodeID, profileVersion: UInt64(batch * 4 + index + 1), cpuModel: "Sybil 9000", cores: 64,
                    isaFeatures: ["avx2"], ramTotalBytes: 1 << 40, ramAvailableBytes: 1 << 40, gpus: [], deviceClass: .server,
                    ternaryGOPS: 9_000, memoryGBPerSecond: 900, modelHashes: [], adapterHashes: [], loadPercent: 0,
                    kernelClass: "avx2")
                return try SignedProfile(profile: profile, signer: stranger)
            }
            try await attacker.send(attacker.envelope(profiles: profiles), to: targets)
        }
        _ = try await Self.waitForDrops(["record.profileOfNonMember"], clients: clients)

        // 5. Junk from many source ports: cut off per source address before any signature work.
        var sockets: [UDPChannel] = []
        for _ in 0..<40 { sockets.append(try await UDPChannel.bind(host: "127.0.0.66", port: 0)) }
        var random = SplitMix64(seed: 99)
        for socket in sockets {
            for _ in 0..<50 {
                let junk = (0..<Int(200 + random.next() % 1_000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                try await socket.send(junk, to: targets[0])
            }
        }
        for socket in sockets { await socket.close() }
        _ = try await Self.waitForDrops(["sourceRateLimited"], clients: [clients[0]])

        // 6. 1,000 idle TCP connections, then an oversize pre-authentication frame: both are
        //    refused early, and an honest push-pull still gets through.
        let victimPort = hosts[0].port
        var idle: [Int32] = []
        defer { idle.forEach { close($0) } }
        for _ in 0..<1_000 { if let fd = RawTCP.connect(from: "127.0.0.66", to: hosts[0].host, port: victimPort) { idle.append(fd) } }
        #expect(idle.count >= 900)
        if let fd = RawTCP.connect(from: "127.0.0.67", to: hosts[0].host, port: victimPort) {
            RawTCP.send(fd, [0x00, 0x40, 0x00, 0x00])  // a 4 MiB frame where the 65-byte hello belongs
            #expect(RawTCP.waitForClose(fd, seconds: 10), "the oversize frame did not close the socket")
            close(fd)
        }
        let joined = try await clients[1].join(address: hosts[0].description)
        #expect(joined.message.contains("joined"))
        _ = try await Self.waitForDrops(["tcp.perAddressCap", "tcp.preAuthFrameTooLarge"], clients: [clients[0]])
        idle.forEach { close($0) }
        idle = []

        // The view stayed right through all of it: no honest node dead anywhere, no stranger admitted.
        try await Self.meshIsIntact(daemons, clients: clients, ids: ids)
        for daemon in daemons.prefix(3) {
            await Task.yield()
            let ledger = try Ledger.open(path: daemon.directory.ledgerFile.path)
            for id in ids {
                let events = try ledger.membershipEvents(nodeID: id)
                #expect(!events.contains { $0.toState == .dead },
                        "\(daemon.listen) saw node \(ids.firstIndex(of: id) ?? -1) as \(events.map { "\($0.toState)@\($0.incarnation) \($0.at.timeIntervalSince1970)" })")
            }
        }

        // 7. Replay after restart: a datagram node 1 sent the attacker (an ack to its ping)
        //    is replayed to node 2 once it restarts, and again; node 2 takes the first copy at
        //    most once and the mesh stays whole.
        daemons[2].kill9()
        try daemons[2].start()
        clients[2] = try await daemons[2].client()
        let replayed = try await listenForOneDatagram(attacker, from: hosts[1], trigger: { try await attacker.send(attacker.envelope(), to: [targets[1]]) })
        for _ in 0..<3 { try await attacker.send(replayed, to: [targets[2], targets[0]]) }
        _ = try await Self.waitForDrops(["replayed"], clients: [clients[0], clients[2]])
        try await Self.meshIsIntact(daemons, clients: clients, ids: ids)
    }

    /// Sends `trigger` and returns the first datagram that arrives from `host`.
    func listenForOneDatagram(_ attacker: Attacker, from host: HostPort, trigger: @escaping @Sendable () async throws -> Void) async throws -> [UInt8] {
        try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                for await datagram in attacker.udp.datagrams where datagram.sender.port == host.port { return datagram.bytes }
                return nil
            }
            group.addTask {
                for _ in 0..<20 {
                    try await trigger()
                    try await Task.sleep(for: .milliseconds(500))
                }
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let bytes = result { return bytes }
            }
            throw MeshProcessTests.TimedOut(what: "no datagram from \(host)")
        }
    }
}

/// Plain blocking sockets, for a client that does nothing a well-behaved one would.
enum RawTCP {
    /// Connects from `source` (any 127.x address) to `host:port`; nil on failure.
    static func connect(from source: String, to host: String, port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, source, &local.sin_addr)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &remote.sin_addr)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Whether the peer closes (or resets) the socket within `seconds`.
    static func waitForClose(_ fd: Int32, seconds: Double) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            guard poll(&poller, 1, 100) >= 0 else { return true }
            if poller.revents != 0 {
                let read = recv(fd, &buffer, buffer.count, 0)
                if read <= 0 { return true }
            }
        }
        return false
    }
}
