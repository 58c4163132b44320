import CSodium
import NIOCore
import NIOPosix

/// An authenticated, encrypted TCP stream to a peer whose identity was checked in the
/// handshake (see `SecureHandshake`). Frames are whole messages up to `maxFrameSize`
/// bytes; each direction is its own `crypto_secretstream` so that tampering, reordering
/// and truncation are detected. Any failure closes the connection.
public actor SecureConnection {
    /// The peer's Ed25519 public key, proven in the handshake.
    public nonisolated let peerIdentity: [UInt8]
    public nonisolated let maxFrameSize: Int
    public nonisolated var remoteAddress: SocketAddress? { channel.remoteAddress }

    private let channel: Channel
    private var frames: AsyncThrowingStream<ByteBuffer, Error>.AsyncIterator
    private let sender: SecretStreamSender
    private let receiver: SecretStreamReceiver
    private var receiving = false
    private var finished = false

    /// Default limit on one frame's plaintext: large enough for a blob chunk.
    public static let defaultMaxFrameSize = 4 << 20
    /// A peer that has not finished the handshake by then is disconnected.
    public static let defaultHandshakeTimeout = TimeAmount.seconds(10)

    /// Dials `host:port` and runs the handshake as the connector; throws if the peer is
    /// not `expectedPeer` or fails to authenticate.
    public static func connect(
        host: String, port: Int, identity: TransportIdentity, expectedPeer: [UInt8],
        maxFrameSize: Int = defaultMaxFrameSize, handshakeTimeout: TimeAmount = defaultHandshakeTimeout,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> SecureConnection {
        try await connect(host: host, port: port, identity: identity, requirement: .exactly(expectedPeer),
                          maxFrameSize: maxFrameSize, handshakeTimeout: handshakeTimeout, group: group)
    }

    /// Dials `host:port` and admits whichever peers `requirement` allows. A node joining
    /// through a bootstrap address knows only the address: it uses `.allowedBy { _ in true }`
    /// and learns the peer's identity, which the handshake still proves.
    public static func connect(
        host: String, port: Int, identity: TransportIdentity, requirement: PeerRequirement,
        maxFrameSize: Int = defaultMaxFrameSize, handshakeTimeout: TimeAmount = defaultHandshakeTimeout,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> SecureConnection {
        let (stream, inbox) = AsyncThrowingStream<ByteBuffer, Error>.makeStream()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addFrameHandlers(maxFrameSize: maxFrameSize, inbox: inbox)
                }
            }
            .connect(host: host, port: port)
            .get()
        return try await handshake(
            on: channel, frames: stream, role: .connector, identity: identity,
            requirement: requirement, maxFrameSize: maxFrameSize, timeout: handshakeTimeout)
    }

    /// Runs the handshake on a freshly opened channel whose pipeline feeds `frames`;
    /// closes the channel if it fails or outlasts `timeout`.
    static func handshake(
        on channel: Channel, frames: AsyncThrowingStream<ByteBuffer, Error>, role: SecureHandshake.Role,
        identity: TransportIdentity, requirement: PeerRequirement, maxFrameSize: Int, timeout: TimeAmount
    ) async throws -> SecureConnection {
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        do {
            var iterator = frames.makeAsyncIterator()
            let handshake = SecureHandshake(role: role, identity: identity)
            // Writes are queued, not awaited: a failed write closes the channel, which the
            // next read reports together with its cause (e.g. the peer's oversize frame).
            _ = writeFrame(handshake.hello, to: channel)
            let peer = try handshake.receiveHello(try await nextFrame(&iterator, from: channel), requirement: requirement)
            let (auth, sender) = handshake.authentication()
            _ = writeFrame(auth, to: channel)
            let receiver = try handshake.receiveAuthentication(try await nextFrame(&iterator, from: channel))
            return SecureConnection(
                channel: channel, frames: iterator, sender: sender, receiver: receiver,
                peerIdentity: peer, maxFrameSize: maxFrameSize)
        } catch {
            try? await channel.close()
            throw Self.transportError(error)
        }
    }

    private init(
        channel: Channel, frames: AsyncThrowingStream<ByteBuffer, Error>.AsyncIterator,
        sender: SecretStreamSender, receiver: SecretStreamReceiver, peerIdentity: [UInt8], maxFrameSize: Int
    ) {
        self.channel = channel
        self.frames = frames
        self.sender = sender
        self.receiver = receiver
        self.peerIdentity = peerIdentity
        self.maxFrameSize = maxFrameSize
    }

    /// Encrypts and sends one frame. Frames arrive in the order `send` was called.
    public func send(_ frame: [UInt8]) async throws {
        guard frame.count <= maxFrameSize else {
            throw TransportError.frameTooLarge(size: frame.count, limit: maxFrameSize)
        }
        // Seal and hand to the channel without suspending in between, so that concurrent
        // senders cannot interleave sealing order and wire order.
        try await Self.writeFrame(sender.seal(frame), to: channel).get()
    }

    /// The next frame from the peer, or nil once the peer has closed the stream in order.
    /// Throws if the stream was tampered with, cut short, or a frame was too large.
    public func receive() async throws -> [UInt8]? {
        guard !finished else { return nil }
        guard !receiving else { throw TransportError.concurrentReceive }
        receiving = true
        defer { receiving = false }
        var iterator = frames
        defer { frames = iterator }
        do {
            let (plaintext, isFinal) = try receiver.open(try await Self.nextFrame(&iterator, from: channel))
            if isFinal {
                finished = true
                try? await channel.close()
                return nil
            }
            return plaintext
        } catch {
            try? await channel.close()
            throw Self.transportError(error)
        }
    }

    /// Ends this side's stream with an authenticated end marker, then closes the socket.
    public func close() async {
        if channel.isActive {
            try? await Self.writeFrame(sender.seal([], final: true), to: channel).get()
        }
        try? await channel.close()
    }

    /// Queues one frame on the channel synchronously (so callers on the actor keep their
    /// order); the returned future completes once it is written.
    private static func writeFrame(_ payload: [UInt8], to channel: Channel) -> EventLoopFuture<Void> {
        channel.writeAndFlush(ByteBuffer.lengthPrefixedFrame(payload, allocator: channel.allocator))
    }

    /// Runs in the caller's isolation so that an actor can pass its own iterator.
    /// Tells the pipeline's `FrameInboxHandler` that the frame was taken, which lets it
    /// resume reading from the socket.
    private static func nextFrame(
        _ iterator: inout AsyncThrowingStream<ByteBuffer, Error>.AsyncIterator,
        from channel: Channel,
        isolation: isolated (any Actor)? = #isolation
    ) async throws -> [UInt8] {
        guard var frame = try await iterator.next(isolation: isolation) else { throw TransportError.connectionClosed }
        channel.triggerUserOutboundEvent(FrameInboxHandler.FrameConsumed(), promise: nil)
        return frame.readBytes(length: frame.readableBytes) ?? []
    }

    /// Largest frame payload on the wire: `maxFrameSize` bytes of plaintext plus the
    /// stream's authentication tag.
    static func wireFrameLimit(maxFrameSize: Int) -> Int {
        maxFrameSize + Int(crypto_secretstream_xchacha20poly1305_abytes())
    }

    /// Socket-level errors surface as `connectionClosed`; protocol errors keep their reason.
    private static func transportError(_ error: any Error) -> any Error {
        error is TransportError ? error : TransportError.connectionClosed
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// Frame decoding (ciphertext limit = plaintext limit + the stream's tag overhead) and
    /// delivery of frames into `inbox`.
    func addFrameHandlers(maxFrameSize: Int, inbox: AsyncThrowingStream<ByteBuffer, Error>.Continuation) throws {
        let maxPayload = SecureConnection.wireFrameLimit(maxFrameSize: maxFrameSize)
        try addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder(maxPayload: maxPayload)))
        try addHandler(FrameInboxHandler(inbox: inbox))
    }
}
