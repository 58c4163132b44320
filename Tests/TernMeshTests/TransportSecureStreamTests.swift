import Foundation
import NIOCore
import TernMesh
import Testing

@Suite struct TransportSecureStreamTests {
    let serverIdentity = TransportIdentity.generate()
    let clientIdentity = TransportIdentity.generate()

    /// The stream protocol these tests open and serve.
    static let protocolID = "test/1"

    /// Bytes the connector sends before its first data frame: two length-prefixed
    /// handshake messages, hello (65 B) and auth (88 B), then the protocol-id frame
    /// (the id plus the secret stream's 17-byte tag).
    static let connectorHandshakeBytes = (4 + 65) + (4 + 88) + (4 + protocolID.utf8.count + 17)

    func listen(
        allowing allowed: [UInt8]? = nil, maxFrameSize: Int = SecureConnection.defaultMaxFrameSize,
        rejections: Collected<String>? = nil
    ) async throws -> SecureListener {
        let allowed = allowed ?? clientIdentity.publicKey
        return try await SecureListener.bind(
            host: "127.0.0.1", port: 0, identity: serverIdentity, requirement: .allowedBy { $0 == allowed },
            protocols: [Self.protocolID], maxFrameSize: maxFrameSize, handshakeTimeout: transportTestHandshakeTimeout,
            onRejected: { _, reason in rejections?.append("\(reason)") })
    }

    func firstConnection(of listener: SecureListener) async throws -> SecureConnection {
        try await withTimeout {
            var iterator = listener.connections.makeAsyncIterator()
            return try #require(await iterator.next())
        }
    }

    /// The handshake binds the mesh id: a peer holding another mesh's key (or none) cannot
    /// complete it, while two peers of the same private mesh can.
    @Test func aPeerFromAnotherMeshCannotCompleteTheHandshake() async throws {
        let privateMesh = try MeshID(secret: [UInt8](repeating: 3, count: 32))
        let listener = try await SecureListener.bind(
            host: "127.0.0.1", port: 0, identity: serverIdentity.inMesh(privateMesh), requirement: .allowedBy { _ in true },
            protocols: [Self.protocolID], handshakeTimeout: transportTestHandshakeTimeout)
        defer { Task { await listener.close() } }
        await #expect(throws: (any Error).self) {
            _ = try await SecureConnection.connect(
                host: "127.0.0.1", port: listener.localAddress.port!, identity: clientIdentity,
                expectedPeer: serverIdentity.publicKey, protocolID: Self.protocolID, handshakeTimeout: transportTestHandshakeTimeout)
        }
        let member = try await SecureConnection.connect(
            host: "127.0.0.1", port: listener.localAddress.port!, identity: clientIdentity.inMesh(privateMesh),
            expectedPeer: serverIdentity.publicKey, protocolID: Self.protocolID, handshakeTimeout: transportTestHandshakeTimeout)
        let accepted = try await firstConnection(of: listener)
        try await member.send([42])
        #expect(try await accepted.receive() == [42])
        await member.close()
        await accepted.close()
        #expect((listener.rejectionCounts()["badHandshake"] ?? 0) >= 1)
    }

    @Test func framesRoundTripBothWaysAndCloseInOrder() async throws {
        let listener = try await listen()
        let client = try await SecureConnection.connect(
            host: "127.0.0.1", port: listener.localAddress.port!, identity: clientIdentity,
            expectedPeer: serverIdentity.publicKey, protocolID: Self.protocolID, handshakeTimeout: transportTestHandshakeTimeout)
        let server = try await firstConnection(of: listener)
        #expect(client.peerIdentity == serverIdentity.publicKey)
        #expect(server.peerIdentity == clientIdentity.publicKey)

        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let frames: [[UInt8]] = [Array("hello".utf8), [], big, [42]]
        for frame in frames { try await client.send(frame) }
        for frame in frames { #expect(try await withTimeout { try await server.receive() } == frame) }

        try await server.send(Array("pong".utf8))
        #expect(try await withTimeout { try await client.receive() } == Array("pong".utf8))

        await client.close()
        #expect(try await withTimeout { try await server.receive() } == nil)
        await listener.close()
    }

    @Test func dialerRefusesAServerWithAnotherIdentity() async throws {
        let rejections = Collected<String>()
        let listener = try await listen(rejections: rejections)
        let impostorExpectation = TransportIdentity.generate().publicKey
        await #expect(throws: TransportError.unexpectedPeer(expected: impostorExpectation, got: serverIdentity.publicKey)) {
            _ = try await SecureConnection.connect(
                host: "127.0.0.1", port: listener.localAddress.port!, identity: clientIdentity,
                expectedPeer: impostorExpectation, protocolID: Self.protocolID, handshakeTimeout: transportTestHandshakeTimeout)
        }
        // The server never got a verified connection out of it.
        #expect(try await rejections.waitFor(count: 1).count == 1)
        await listener.close()
    }

    @Test func listenerRefusesAClientItDoesNotAllow() async throws {
        let rejections = Collected<String>()
        let listener = try await listen(allowing: TransportIdentity.generate().publicKey, rejections: rejections)
        await #expect(throws: TransportError.connectionClosed) {
            _ = try await SecureConnection.connect(
                host: "127.0.0.1", port: listener.localAddress.port!, identity: clientIdentity,
                expectedPeer: serverIdentity.publicKey, protocolID: Self.protocolID, handshakeTimeout: transportTestHandshakeTimeout)
        }
        let reasons = try await rejections.waitFor(count: 1)
        #expect(reasons[0].contains("is not allowed"))
        await listener.close()
    }

    @Test func impersonatingAnAllowedKeyWithoutItsSecretIsRefused() async throws {
        let rejections = Collected<String>()
        let listener = try await listen(rejections: rejections)
        let raw = try RawTCPClient(port: listener.localAddress.port!)
        defer { raw.close() }
        let ephemeral = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let forgedAuth = (0..<88).map { _ in UInt8.random(in: 0...255) }
        raw.send(Self.frame([2] + clientIdentity.publicKey + ephemeral) + Self.frame(forgedAuth))
        #expect(await raw.readUntilClosed() != nil, "server kept the connection open")
        let reasons = try await rejections.waitFor(count: 1)
        #expect(reasons[0] == TransportError.badSignature.description)
        await listener.close()
    }

    @Test func garbageIsRefusedAndDisconnected() async throws {
        let rejections = Collected<String>()
        let listener = try await listen(rejections: rejections)
        for garbage in [Array("GET / HTTP/1.1\r\n\r\n".utf8), Self.frame([9, 9, 9])] {
            let raw = try RawTCPClient(port: listener.localAddress.port!)
            raw.send(garbage)
            #expect(await raw.readUntilClosed() != nil, "server kept the connection open")
            raw.close()
        }
        let reasons = try await rejections.waitFor(count: 2)
        #expect(reasons.allSatisfy { $0.contains("malformed handshake") || $0.contains("exceeds the limit") })
        await listener.close()
    }

    @Test func tamperedCiphertextIsDetected() async throws {
        let listener = try await listen()
        let proxy = try ByteFlippingProxy(
            targetPort: listener.localAddress.port!, flipOffset: Self.connectorHandshakeBytes + 4 + 3)
        defer { proxy.close() }
        let client = try await SecureConnection.connect(
            host: "127.0.0.1", port: proxy.port, identity: clientIdentity, expectedPeer: serverIdentity.publicKey, protocolID: Self.protocolID, handshakeTimeout: transportTestHandshakeTimeout)
        let server = try await firstConnection(of: listener)

        try await client.send(Array("transfer 10 credits".utf8))
        await #expect(throws: TransportError.tamperedFrame) {
            _ = try await withTimeout { try await server.receive() }
        }
        await client.close()
        await listener.close()
    }

    @Test func oversizeFramesAreRejectedOnBothSides() async throws {
        let listener = try await listen(maxFrameSize: 1024)
        let client = try await SecureConnection.connect(
            host: "127.0.0.1", port: listener.localAddress.port!, identity: clientIdentity,
            expectedPeer: serverIdentity.publicKey, protocolID: Self.protocolID, maxFrameSize: 4096, handshakeTimeout: transportTestHandshakeTimeout)
        let server = try await firstConnection(of: listener)

        await #expect(throws: TransportError.frameTooLarge(size: 5000, limit: 4096)) {
            try await client.send([UInt8](repeating: 0, count: 5000))
        }
        // Within the sender's limit but over the receiver's: the receiver drops the connection.
        try await client.send([UInt8](repeating: 0, count: 2048))
        await #expect(throws: TransportError.frameTooLarge(size: 2048 + 17, limit: 1024 + 17)) {
            _ = try await withTimeout { try await server.receive() }
        }
        await client.close()
        await listener.close()
    }

    @Test func aReceiverThatDoesNotReadHoldsBackTheSender() async throws {
        let listener = try await listen()
        let client = try await SecureConnection.connect(
            host: "127.0.0.1", port: listener.localAddress.port!, identity: clientIdentity,
            expectedPeer: serverIdentity.publicKey, protocolID: Self.protocolID, handshakeTimeout: transportTestHandshakeTimeout)
        let server = try await firstConnection(of: listener)

        // 256 MiB offered, far beyond the inbox's 16 frames plus the kernel's socket buffers.
        let frames = 256
        let sent = Collected<Int>()
        let sender = Task {
            let frame = [UInt8](repeating: 5, count: 1 << 20)
            for index in 0..<frames {
                try await client.send(frame)
                sent.append(index)
            }
        }
        try await Task.sleep(for: .seconds(1))
        #expect(sent.values.count < frames / 2, "sender was never held back")

        for _ in 0..<frames { #expect(try await withTimeout { try await server.receive() }?.count == 1 << 20) }
        try await withTimeout { try await sender.value }
        #expect(sent.values.count == frames)
        await client.close()
        await listener.close()
    }

    @Test func identityMustBeAConsistentKeyPair() {
        let other = TransportIdentity.generate()
        #expect("\(other)".count == "TransportIdentity()".count + 64, "description must not show the secret key")
        #expect(throws: TransportError.self) {
            _ = try TransportIdentity(publicKey: other.publicKey, secretKey: Array(repeating: 1, count: 64))
        }
        #expect(throws: TransportError.self) {
            _ = try TransportIdentity(publicKey: [1, 2, 3], secretKey: [])
        }
    }

    static func frame(_ payload: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init) + payload
    }
}
