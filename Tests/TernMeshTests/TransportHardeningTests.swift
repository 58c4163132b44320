import Foundation
import NIOCore
import TernMesh
import Testing

/// What an unauthenticated or idle TCP peer can make a listener hold (issue 11, item 5):
/// handshake and per-address caps, handshake-sized frames before authentication, the
/// protocol-id frame, and the idle timeout. Real sockets on 127.0.0.x.
@Suite struct TransportHardeningTests {
    let serverIdentity = TransportIdentity.generate()
    let clientIdentity = TransportIdentity.generate()

    func listen(
        protocols: Set<String> = ["pushpull/1"], idleTimeout: TimeAmount = SecureConnection.defaultIdleTimeout
    ) async throws -> SecureListener {
        try await SecureListener.bind(
            host: "127.0.0.1", port: 0, identity: serverIdentity, requirement: .allowedBy { _ in true },
            protocols: protocols, handshakeTimeout: transportTestHandshakeTimeout, idleTimeout: idleTimeout)
    }

    func dial(_ listener: SecureListener, protocolID: String = "pushpull/1") async throws -> SecureConnection {
        try await SecureConnection.connect(
            host: "127.0.0.1", port: listener.localAddress.port!, identity: clientIdentity,
            expectedPeer: serverIdentity.publicKey, protocolID: protocolID,
            handshakeTimeout: transportTestHandshakeTimeout)
    }

    func firstConnection(of listener: SecureListener) async throws -> SecureConnection {
        try await withTimeout {
            var iterator = listener.connections.makeAsyncIterator()
            return try #require(await iterator.next())
        }
    }

    /// Polls `condition` until it holds or the deadline passes (then fails the test).
    func eventually(
        _ what: String, seconds: Double = Double(transportTestTimeoutSeconds), _ condition: () -> Bool
    ) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else {
                Issue.record("timed out waiting for: \(what)")
                throw TimedOut()
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func idleConnectionsCannotLockOutAnHonestPeer() async throws {
        let listener = try await listen()
        let port = listener.localAddress.port!
        var idle: [RawTCPClient] = []
        defer { for socket in idle { socket.close() } }
        func counts() -> [String: Int] { listener.rejectionCounts() }

        // 100 idle sockets from one address: it keeps its 8 handshake slots, the rest are
        // closed at once.
        for _ in 0..<100 { idle.append(try RawTCPClient(port: port, from: "127.0.0.2")) }
        try await eventually("100 sockets from 127.0.0.2 accounted for") {
            counts()["perAddressCap"]! + listener.load.handshaking == 100
        }
        #expect(counts()["perAddressCap"] == 92)
        #expect(listener.load.handshaking == 8)

        // 100 more from 25 addresses, 4 each: the listener-wide cap of 64 is reached, and
        // slots move from the busiest addresses to those holding fewer.
        for index in 0..<100 { idle.append(try RawTCPClient(port: port, from: "127.0.0.\(3 + index / 4)")) }
        try await eventually("all 200 idle sockets accounted for") {
            let c = counts()
            return c["perAddressCap"]! + c["handshakeCapReached"]! + c["handshakeEvicted"]!
                + listener.load.handshaking == 200
        }
        #expect(listener.load.handshaking == 64)
        #expect(counts()["handshakeEvicted"]! >= 1)
        let evictedBefore = counts()["handshakeEvicted"]!

        // An honest peer from an address holding no handshake still gets through.
        let client = try await dial(listener)
        let server = try await firstConnection(of: listener)
        try await client.send(Array("ping".utf8))
        #expect(try await withTimeout { try await server.receive() } == Array("ping".utf8))
        #expect(counts()["handshakeEvicted"]! == evictedBefore + 1, "the honest peer's slot came from a busy address")
        #expect(listener.load.authenticated == 1)

        await client.close()
        await server.close()
        await listener.close()
    }

    @Test func preAuthFramesLargerThanTheHandshakeAreRefusedAtTheirHeader() async throws {
        let listener = try await listen()
        let port = listener.localAddress.port!
        let ephemeral = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let hello = frame([2] + clientIdentity.publicKey + ephemeral)
        let attempts: [(what: String, bytes: [UInt8])] = [
            ("a 4 MiB header where the hello belongs", header(4 << 20)),
            ("a 66-byte header where the 65-byte hello belongs", header(66)),
            ("a valid hello, then an 89-byte header where the 88-byte auth belongs", hello + header(89)),
        ]
        for (index, attempt) in attempts.enumerated() {
            // Only the header is sent: a listener that waited for the announced payload
            // would keep the socket open past the 10 s read timeout.
            let raw = try RawTCPClient(port: port, receiveTimeoutSeconds: 10)
            defer { raw.close() }
            raw.send(attempt.bytes)
            #expect(await raw.readUntilClosed() != nil, "server kept the socket open after \(attempt.what)")
            try await eventually("rejection \(index + 1) counted") {
                listener.rejectionCounts()["preAuthFrameTooLarge"] == index + 1
            }
        }
        #expect(listener.load.handshaking == 0)
        await listener.close()
    }

    @Test func aVersionOneHelloIsRefusedAsABadHandshake() async throws {
        let listener = try await listen()
        let raw = try RawTCPClient(port: listener.localAddress.port!)
        defer { raw.close() }
        let ephemeral = (0..<32).map { _ in UInt8.random(in: 0...255) }
        raw.send(frame([1] + clientIdentity.publicKey + ephemeral))
        #expect(await raw.readUntilClosed() != nil, "server kept the connection open")
        try await eventually("bad handshake counted") { listener.rejectionCounts()["badHandshake"] == 1 }
        await listener.close()
    }

    @Test func aStreamMustOpenWithAProtocolTheListenerServes() async throws {
        let listener = try await listen(protocols: ["pushpull/1"])

        await #expect(throws: TransportError.invalidProtocolID("push pull")) {
            _ = try await dial(listener, protocolID: "push pull")
        }

        // The connector learns of the refusal when the acceptor closes the stream.
        let stranger = try await dial(listener, protocolID: "task/9")
        await #expect(throws: TransportError.connectionClosed) {
            _ = try await withTimeout { try await stranger.receive() }
        }
        try await eventually("unknown protocol counted") { listener.rejectionCounts()["unknownProtocol"] == 1 }

        let client = try await dial(listener, protocolID: "pushpull/1")
        let server = try await firstConnection(of: listener)
        #expect(server.protocolID == "pushpull/1", "the refused stream must not have been handed out")
        #expect(client.protocolID == "pushpull/1")
        try await client.send(Array("snapshot".utf8))
        #expect(try await withTimeout { try await server.receive() } == Array("snapshot".utf8))
        #expect(listener.rejectionCounts()["unknownProtocol"] == 1)

        await client.close()
        await server.close()
        await listener.close()
    }

    @Test func anAuthenticatedConnectionWithNoTrafficIsClosed() async throws {
        let listener = try await listen(idleTimeout: .milliseconds(300))
        let client = try await dial(listener)
        let server = try await firstConnection(of: listener)

        await #expect(throws: TransportError.idleTimeout) {
            _ = try await withTimeout { try await server.receive() }
        }
        await #expect(throws: TransportError.connectionClosed) {
            _ = try await withTimeout { try await client.receive() }
        }
        #expect(listener.rejectionCounts()["idleTimeout"] == 1)
        try await eventually("the closed connection's slot freed") { listener.load.authenticated == 0 }
        await listener.close()
    }

    @Test func rejectionCountsNameEveryReason() async throws {
        let listener = try await listen()
        let counts = listener.rejectionCounts()
        #expect(Set(counts.keys) == Set(ConnectionRejection.allCases.map(\.rawValue)))
        #expect(counts.values.allSatisfy { $0 == 0 })
        await listener.close()
    }

    func header(_ length: UInt32) -> [UInt8] {
        withUnsafeBytes(of: length.bigEndian, Array.init)
    }

    func frame(_ payload: [UInt8]) -> [UInt8] {
        header(UInt32(payload.count)) + payload
    }
}
