import Foundation
import Testing
import TernNode

/// A real network partition: four daemons in two network namespaces joined by one veth
/// link. Cutting the link makes each side mark the other dead; restoring it must make one
/// mesh again within 30 s (dead members are retried by push-pull, and each side's
/// accusations make the other refute). Needs root and `ip netns` (CI runs as root).
@Suite(.serialized, .enabled(if: NetworkNamespaces.available, "needs root and `ip netns` to build network namespaces"))
struct PartitionTests {
    static let ip = "/usr/sbin/ip"

    /// Runs a command to completion; throws with its output if it fails.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(command: ([executable] + arguments).joined(separator: " "), output: String(decoding: data, as: UTF8.self))
        }
        return data
    }

    struct CommandFailed: Error, CustomStringConvertible {
        let command: String
        let output: String
        var description: String { "\(command) failed: \(output)" }
    }

    /// Two namespaces, `a` and `b`, linked by a veth pair with one address on each end.
    final class Network {
        let a: String, b: String, linkA: String, linkB: String, addressA: String, addressB: String

        init() throws {
            let tag = String(getpid() % 100_000)
            (a, b) = ("tern-a-\(tag)", "tern-b-\(tag)")
            (linkA, linkB) = ("tva\(tag)", "tvb\(tag)")
            let subnet = 1 + Int(getpid() % 250)
            (addressA, addressB) = ("10.213.\(subnet).1", "10.213.\(subnet).2")
            tearDown()
            for namespace in [a, b] { try PartitionTests.run(ip, ["netns", "add", namespace]) }
            try PartitionTests.run(ip, ["link", "add", linkA, "type", "veth", "peer", "name", linkB])
            try PartitionTests.run(ip, ["link", "set", linkA, "netns", a])
            try PartitionTests.run(ip, ["link", "set", linkB, "netns", b])
            for (namespace, link, address) in [(a, linkA, addressA), (b, linkB, addressB)] {
                try PartitionTests.run(ip, ["-n", namespace, "addr", "add", address + "/24", "dev", link])
                try PartitionTests.run(ip, ["-n", namespace, "link", "set", link, "up"])
                try PartitionTests.run(ip, ["-n", namespace, "link", "set", "lo", "up"])
            }
        }

        /// Blackhole routes to the far side in both namespaces. (Setting the link down would
        /// also cut traffic between the two daemons sharing a side's address.)
        func cut() throws {
            try PartitionTests.run(ip, ["-n", a, "route", "add", "blackhole", addressB + "/32"])
            try PartitionTests.run(ip, ["-n", b, "route", "add", "blackhole", addressA + "/32"])
        }

        func restore() throws {
            try PartitionTests.run(ip, ["-n", a, "route", "del", "blackhole", addressB + "/32"])
            try PartitionTests.run(ip, ["-n", b, "route", "del", "blackhole", addressA + "/32"])
        }

        func tearDown() {
            for namespace in [a, b] { _ = try? PartitionTests.run(ip, ["netns", "delete", namespace]) }
        }
    }

    /// A daemon started with `ip netns exec` (which execs, so the pid is the daemon's).
    final class NamespacedDaemon {
        let namespace: String
        let directory: URL
        let listen: String
        var process: Process?

        init(namespace: String, directory: URL, listen: String) {
            self.namespace = namespace
            self.directory = directory
            self.listen = listen
        }

        func start(bootstrap: String) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: PartitionTests.ip)
            p.arguments = ["netns", "exec", namespace, MeshProcessTests.ternBinary.path, "node", "start", "--data", directory.path,
                           "--listen", listen, "--bootstrap", bootstrap, "--period-ms", "500", "--log-level", "warning"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            process = p
        }

        func stop() {
            guard let p = process, p.isRunning else { return }
            p.terminate()
            p.waitUntilExit()
        }

        /// The peers this daemon lists, asked through the CLI inside its namespace (its
        /// control API listens on the namespace's own loopback).
        func peers() -> [PeerRow] {
            guard let data = try? PartitionTests.run(PartitionTests.ip, ["netns", "exec", namespace, MeshProcessTests.ternBinary.path,
                                                                       "mesh", "peers", "--json", "--data", directory.path]) else { return [] }
            return (try? ControlJSON.decoder.decode([PeerRow].self, from: data)) ?? []
        }

        func alivePeers() -> Set<String> { Set(peers().filter { $0.state == "alive" }.map(\.address)) }
    }

    @Test func aCutLinkSplitsTheMeshAndItHealsWithin30Seconds() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: MeshProcessTests.ternBinary.path), "build the tern product first")
        let network = try Network()
        defer { network.tearDown() }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-partition-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let port = MeshProcessTests.freePortBase()
        let endpoints = ["\(network.addressA):\(port)", "\(network.addressA):\(port + 1)",
                         "\(network.addressB):\(port)", "\(network.addressB):\(port + 1)"]
        let daemons = endpoints.indices.map { index in
            NamespacedDaemon(namespace: index < 2 ? network.a : network.b,
                             directory: root.appendingPathComponent("node\(index)"), listen: endpoints[index])
        }
        defer { daemons.forEach { $0.stop() } }
        for daemon in daemons { try daemon.start(bootstrap: endpoints[0]) }
        let everyone = Set(endpoints)
        func others(_ index: Int) -> Set<String> { everyone.subtracting([endpoints[index]]) }
        func sameSide(_ index: Int) -> Set<String> { Set(index < 2 ? endpoints.prefix(2) : endpoints.suffix(2)).subtracting([endpoints[index]]) }

        // One mesh of four.
        for (index, daemon) in daemons.enumerated() {
            _ = try await MeshProcessTests.eventually("daemon \(index) sees all", seconds: 60) {
                daemon.alivePeers() == others(index) ? true : nil
            }
        }

        // Cut: each side counts the other out (Lifeguard stretches the suspicion while this
        // node's own probes fail, so this takes longer than a single crash).
        try network.cut()
        for (index, daemon) in daemons.enumerated() {
            _ = try await MeshProcessTests.eventually("daemon \(index) counts the other side dead", seconds: 120) { () -> Bool? in
                let peers = daemon.peers()
                let dead = Set(peers.filter { $0.state == "dead" }.map(\.address))
                return daemon.alivePeers() == sameSide(index) && dead == others(index).subtracting(sameSide(index)) ? true : nil
            }
        }

        // Restore: one mesh again within 30 s.
        try network.restore()
        let restoredAt = Date()
        for (index, daemon) in daemons.enumerated() {
            _ = try await MeshProcessTests.eventually("daemon \(index) sees all again", seconds: 60) {
                daemon.alivePeers() == others(index) ? true : nil
            }
        }
        let healSeconds = Date().timeIntervalSince(restoredAt)
        #expect(healSeconds <= 30, "one mesh again after \(healSeconds) s")
        for daemon in daemons { #expect(daemon.process?.isRunning == true) }
    }
}

enum NetworkNamespaces {
    /// Whether this process can create network namespaces (tried once).
    static let available: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: PartitionTests.ip) else { return false }
        let probe = "tern-probe-\(getpid())"
        defer { _ = try? PartitionTests.run(PartitionTests.ip, ["netns", "delete", probe]) }
        return (try? PartitionTests.run(PartitionTests.ip, ["netns", "add", probe])) != nil
    }()
}
