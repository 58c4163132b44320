import Foundation
import Testing
import TernMesh
import TernNode

@Suite struct NodeConfigurationTests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tern-config-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aWildcardListenAddressIsNeverGossiped() throws {
        var configuration = NodeConfiguration()
        configuration.listen = try HostPort(parsing: "0.0.0.0:7946")
        #expect(throws: NodeError.self) { try configuration.gossipEndpoint() }
        configuration.advertise = try HostPort(parsing: "203.0.113.7:7946")
        #expect(try configuration.gossipEndpoint() == "203.0.113.7:7946")
        configuration.advertise = try HostPort(parsing: "node.example.org:7946")
        #expect(throws: NodeError.self) { try configuration.gossipEndpoint() }
        configuration.advertise = try HostPort(parsing: "[2001:db8::7]:7946")
        #expect(try configuration.gossipEndpoint() == "[2001:db8::7]:7946")
    }

    @Test func bootstrapEntriesMayPinTheKeyThatMustAnswer() throws {
        let id = testNodeID()
        let pinned = try BootstrapPeer(parsing: "10.0.0.5:7946@\(id.hex)")
        #expect(pinned.address == HostPort(host: "10.0.0.5", port: 7946) && pinned.nodeID == id)
        #expect(try BootstrapPeer(parsing: pinned.description) == pinned)
        #expect(try BootstrapPeer(parsing: "seed.example.org:7946").nodeID == nil)
        for bad in ["10.0.0.5:7946@abc", "10.0.0.5:7946@" + String(repeating: "z", count: 64), "10.0.0.5@\(id.hex)"] {
            #expect(throws: NodeError.self) { try BootstrapPeer(parsing: bad) }
        }
        let decoded = try JSONDecoder().decode(NodeConfiguration.self, from: Data(#"{"bootstrap": ["10.0.0.5:7946@\#(id.hex)"]}"#.utf8))
        #expect(decoded.bootstrap == [pinned])
    }

    @Test func theAPIKeyFileHoldsOneKey() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = try JSONDecoder().decode(NodeConfiguration.self, from: Data(#"{"api": "127.0.0.1:0"}"#.utf8))
        #expect(configuration.api == HostPort(host: "127.0.0.1", port: 0))
        #expect(try configuration.apiKey() == nil)
        let file = directory.appendingPathComponent("api.key")
        configuration.apiKeyFile = file.path
        #expect(throws: NodeError.self) { try configuration.apiKey() }
        for bad in ["", "  \n", "two keys"] {
            try Data(bad.utf8).write(to: file)
            #expect(throws: NodeError.self) { try configuration.apiKey() }
        }
        try Data("sk-local-1\n".utf8).write(to: file)
        #expect(try configuration.apiKey() == ControlToken(value: "sk-local-1"))
    }

    @Test func theMeshKeyFileDerivesTheMeshID() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = NodeConfiguration()
        #expect(try configuration.meshID() == .open)
        let raw = directory.appendingPathComponent("raw.key"), hex = directory.appendingPathComponent("hex.key")
        let secret = [UInt8](repeating: 0xAB, count: 32)
        try Data(secret).write(to: raw)
        try Data((Hex.encode(secret) + "\n").utf8).write(to: hex)
        configuration.meshKeyFile = raw.path
        let fromRaw = try configuration.meshID()
        configuration.meshKeyFile = hex.path
        #expect(try configuration.meshID() == fromRaw && fromRaw != .open)
        try Data([1, 2, 3]).write(to: raw)
        configuration.meshKeyFile = raw.path
        #expect(throws: NodeError.self) { try configuration.meshID() }
    }

    /// Sequence numbers keep rising across restarts without reading the clock: a restart
    /// starts above everything the previous run could have sent.
    @Test func sequenceNumbersSurviveARestart() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var first = try SequenceCounter(directory: directory)
        var sent: [UInt64] = []
        for _ in 0..<(SequenceCounter.block + 10) { sent.append(try first.take()) }
        #expect(zip(sent, sent.dropFirst()).allSatisfy { $0 < $1 })
        var second = try SequenceCounter(directory: directory)
        #expect(try second.take() > sent.last!)
        // A corrupt or exhausted counter file is an error, not a silent restart at zero.
        try Data("\(UInt64.max)\n".utf8).write(to: directory.appendingPathComponent(SequenceCounter.fileName))
        #expect(throws: NodeError.self) { try SequenceCounter(directory: directory) }
        try Data("garbage".utf8).write(to: directory.appendingPathComponent(SequenceCounter.fileName))
        #expect(throws: NodeError.self) { try SequenceCounter(directory: directory) }
    }

    func testNodeID() -> NodeID { try! NodeIdentity(seed: [UInt8](repeating: 7, count: 32)).nodeID }
}
