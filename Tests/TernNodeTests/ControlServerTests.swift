import Foundation
import Logging
import Testing
import TernMesh
import TernNode
import Hummingbird

/// A fixed node state for exercising the HTTP layer on its own.
private struct FixedHandler: ControlHandler {
    func status() async -> NodeStatusReply {
        NodeStatusReply(nodeID: "ab", fingerprint: "ab12", version: "t", gossipAddress: "127.0.0.1:1",
                        incarnation: 3, membersAlive: 2, membersSuspect: 0, membersDead: 1,
                        uptimeSeconds: 1.5, dataDirectory: "/tmp/x")
    }
    func peers() async -> [PeerRow] {
        [PeerRow(nodeID: "cd", fingerprint: "cd34", address: "127.0.0.1:2", state: "alive",
                 incarnation: 1, deviceClass: "server", cores: 2, ramBytes: 1 << 30,
                 isa: ["avx2"], kernelClass: "avx2", gpus: [], gops: 12.5, lastSeen: Date(timeIntervalSince1970: 1_000_000))]
    }
    func join(address: String) async throws -> JoinReply {
        JoinReply(message: "joining \(address)")
    }
    func addBlob(_ request: BlobAddRequest) async throws -> BlobInfo { throw TaskFailure(.badRequest, "no store here") }
    func getBlob(_ request: BlobGetRequest) async throws -> BlobFetchReport { throw TaskFailure(.notFound, "no mesh here") }
    func blobs() async throws -> [BlobInfo] { [] }
    func removeBlob(_ id: String) async throws { throw TaskFailure(.notFound, "no blob \(id)") }
    func generate(_ request: GenerateJobRequest) async throws -> JobRunReply { throw TaskFailure(.busy, "busy") }
    func dispatchFineTune(_ request: FineTuneDispatchRequest) async throws -> FineTuneStatus { throw TaskFailure(.notFound, "no peers") }
    func fineTuneStatus(_ id: String?) async throws -> [FineTuneStatus] { [] }
    func cancelFineTune(_ id: String) async throws -> FineTuneStatus { throw TaskFailure(.notFound, "no fine-tune \(id)") }
}

@Suite struct ControlServerTests {
    /// Runs a control server on a free loopback port for the duration of `body`.
    private func withServer(token: ControlToken, _ body: @Sendable (Int) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = ControlServer.application(
            handler: FixedHandler(), token: token, logger: Logger(label: "test"),
            onListening: { continuation.yield($0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body(port)
            group.cancelAll()
        }
    }

    @Test func answersWithTheRightToken() async throws {
        let token = ControlToken.generate()
        try await withServer(token: token) { port in
            let client = ControlClient(port: port, token: token)
            let status = try await client.status()
            #expect(status.incarnation == 3 && status.membersAlive == 2)
            let peers = try await client.peers()
            #expect(peers.first?.gops == 12.5)
            #expect(peers.first?.kernelClass == "avx2")
            #expect(peers.first?.lastSeen == Date(timeIntervalSince1970: 1_000_000))
            #expect(try await client.join(address: "127.0.0.1:9").message == "joining 127.0.0.1:9")
        }
    }

    @Test func refusesAWrongToken() async throws {
        try await withServer(token: ControlToken.generate()) { port in
            let intruder = ControlClient(port: port, token: ControlToken.generate())
            await #expect(throws: ControlError.unauthorized) { try await intruder.status() }
        }
    }

    @Test func tokenFileIsOwnerOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tern-token-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("control.token")
        let token = ControlToken.generate()
        try token.write(to: file)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try ControlToken.read(from: file) == token)
        #expect(token.matches(Substring(token.value)))
        #expect(!token.matches(Substring(String(token.value.dropLast()) + "x")))
    }
}
