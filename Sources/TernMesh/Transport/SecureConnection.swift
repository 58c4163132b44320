import CSodium
import NIOCore
import NIOPosix

/// An authenticated, encrypted TCP stream to a peer whose identity was checked in the
/// handshake (see `SecureHandshake`). Frames are whole messages up to `maxFrameSize`
/// bytes; each direction is its own `crypto_secretstream` so that tampering, reordering
/// and truncation are detected. Any failure closes the connection.
///
/// Every stream opens, right after the handshake, with the connector's protocol-id frame
/// (its first encrypted frame, see `StreamProtocolID`); the acceptor closes a stream whose
/// protocol it does not serve. Until the handshake is done only handshake-sized frames are
/// read (`StagedFrameDecoder`); afterwards a connection with no frame either way for its
/// idle timeout is closed (`IdleTimeoutHandler`).
public actor SecureConnection {
    /// The peer's Ed25519 public key, proven in the handshake.
    public nonisolated let peerIdentity: [UInt8]
    /// The stream protocol this connection carries (e.g. `pushpull/1`): the one the
    /// connector opened it with, which the acceptor checked against those it serves.
    public nonisolated let protocolID: String
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
    /// A peer that has not finished the handshake (and named its protocol) by then is
    /// disconnected.
    public static let defaultHandshakeTimeout = TimeAmount.seconds(10)
    /// An authenticated connection with no frame either way for this long is closed; a
    /// protocol that may stay quiet longer must send its own keep-alive frames.
    public static let defaultIdleTimeout = TimeAmount.seconds(60)

    /// Bytes the secret stream adds to each frame's plaintext (its authentication tag).
    static let streamOverhead = Int(crypto_secretstream_xchacha20poly1305_abytes())

    /// Who opens the stream and how its protocol is settled.
    enum Opening {
        case connector(protocolID: String)
        case acceptor(serving: Set<String>)

        var role: SecureHandshake.Role {
            switch self {
            case .connector: .connector
            case .acceptor: .acceptor
            }
        }
    }

    /// Dials `host:port`, runs the handshake as the connector and opens a `protocolID`
    /// stream; throws if the peer is not `expectedPeer` or fails to authenticate. An
    /// acceptor that does not serve `protocolID` closes the stream, which the first
    /// `receive()` reports as `connectionClosed`.
    public static func connect(
        host: String, port: Int, identity: TransportIdentity, expectedPeer: [UInt8], protocolID: String,
        maxFrameSize: Int = defaultMaxFrameSize, handshakeTimeout: TimeAmount = defaultHandshakeTimeout,
        idleTimeout: TimeAmount = defaultIdleTimeout,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> SecureConnection {
        try await connect(host: host, port: port, identity: identity, requirement: .exactly(expectedPeer),
                          protocolID: protocolID, maxFrameSize: maxFrameSize, handshakeTimeout: handshakeTimeout,
                          idleTimeout: idleTimeout, group: group)
    }

    /// Dials `host:port` and admits whichever peers `requirement` allows. A node joining
    /// through a bootstrap address knows only the address: it uses `.allowedBy { _ in true }`
    /// and learns the peer's identity, which the handshake still proves.
    public static func connect(
        host: String, port: Int, identity: TransportIdentity, requirement: PeerRequirement, protocolID: String,
        maxFrameSize: Int = defaultMaxFrameSize, handshakeTimeout: TimeAmount = defaultHandshakeTimeout,
        idleTimeout: TimeAmount = defaultIdleTimeout,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> SecureConnection {
        guard StreamProtocolID.isValid(protocolID) else { throw TransportError.invalidProtocolID(protocolID) }
        let (stream, inbox) = AsyncThrowingStream<ByteBuffer, Error>.makeStream()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addFrameHandlers(inbox: inbox)
                }
            }
            .connect(host: host, port: port)
            .get()
        return try await handshake(
            on: channel, frames: stream, opening: .connector(protocolID: protocolID), identity: identity,
            requirement: requirement, maxFrameSize: maxFrameSize, timeout: handshakeTimeout, idleTimeout: idleTimeout)
    }

    /// Runs the handshake and the protocol-id exchange on a freshly opened channel whose
    /// pipeline feeds `frames` (see `addFrameHandlers`); closes the channel if either fails
    /// or together they outlast `timeout`. On success the frame limit rises to
    /// `maxFrameSize` and the idle timeout starts.
    static func handshake(
        on channel: Channel, frames: AsyncThrowingStream<ByteBuffer, Error>, opening: Opening,
        identity: TransportIdentity, requirement: PeerRequirement, maxFrameSize: Int,
        timeout: TimeAmount, idleTimeout: TimeAmount
    ) async throws -> SecureConnection {
        // Fired into the pipeline rather than just closing, so that the wait below ends
        // with the reason.
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            channel.pipeline.fireErrorCaught(TransportError.handshakeTimeout)
        }
        defer { deadline.cancel() }
        do {
            var iterator = frames.makeAsyncIterator()
            let handshake = SecureHandshake(role: opening.role, identity: identity)
            // Writes are queued, not awaited: a failed write closes the channel, which the
            // next read reports together with its cause (e.g. the peer's oversize frame).
            _ = writeFrame(handshake.hello, to: channel)
            let peer = try handshake.receiveHello(try await nextFrame(&iterator, from: channel), requirement: requirement)
            let (auth, sender) = handshake.authentication()
            _ = writeFrame(auth, to: channel)
            let receiver = try handshake.receiveAuthentication(try await nextFrame(&iterator, from: channel))
            let protocolID: String
            switch opening {
            case .connector(let id):
                _ = writeFrame(sender.seal(Array(id.utf8)), to: channel)
                protocolID = id
            case .acceptor(let protocols):
                protocolID = try await receiveProtocolID(&iterator, from: channel, receiver: receiver, serving: protocols)
            }
            channel.triggerUserOutboundEvent(
                StagedFrameDecoder.Allowance(frames: [], thereafter: maxFrameSize + streamOverhead), promise: nil)
            channel.triggerUserOutboundEvent(IdleTimeoutHandler.Arm(timeout: idleTimeout), promise: nil)
            return SecureConnection(
                channel: channel, frames: iterator, sender: sender, receiver: receiver,
                peerIdentity: peer, protocolID: protocolID, maxFrameSize: maxFrameSize)
        } catch {
            try? await channel.close()
            throw Self.transportError(error)
        }
    }

    /// The acceptor's side of the protocol-id exchange: one frame, no larger than the
    /// longest id, that must decrypt to an id in `protocols`.
    private static func receiveProtocolID(
        _ iterator: inout AsyncThrowingStream<ByteBuffer, Error>.AsyncIterator, from channel: Channel,
        receiver: SecretStreamReceiver, serving protocols: Set<String>
    ) async throws -> String {
        channel.triggerUserOutboundEvent(
            StagedFrameDecoder.Allowance(frames: [StreamProtocolID.maxLength + streamOverhead], thereafter: nil),
            promise: nil)
        let frame: [UInt8]
        do {
            frame = try await nextFrame(&iterator, from: channel)
        } catch TransportError.frameTooLarge {
            throw TransportError.unknownProtocol("<oversize frame>")
        }
        let (plaintext, isFinal) = try receiver.open(frame)
        guard !isFinal else { throw TransportError.unknownProtocol("<end of stream>") }
        return try StreamProtocolID.decode(plaintext, servedBy: protocols)
    }

    private init(
        channel: Channel, frames: AsyncThrowingStream<ByteBuffer, Error>.AsyncIterator,
        sender: SecretStreamSender, receiver: SecretStreamReceiver, peerIdentity: [UInt8], protocolID: String,
        maxFrameSize: Int
    ) {
        self.channel = channel
        self.frames = frames
        self.sender = sender
        self.receiver = receiver
        self.peerIdentity = peerIdentity
        self.protocolID = protocolID
        self.maxFrameSize = maxFrameSize
    }

    /// Encrypts and sends one frame. Frames arrive in the order `send` was called.
    public func send(_ frame: [UInt8]) async throws {
        guard frame.count <= maxFrameSize else {
            throw TransportError.frameTooLarge(size: frame.count, limit: maxFrameSize)
        }
        // Seal and hand to the channel without suspending in between, so that concurrent
        // senders cannot interleave sealing order and wire order.
        do {
            try await Self.writeFrame(sender.seal(frame), to: channel).get()
        } catch {
            // A stream the peer (or a timeout) closed reads as such, like a failed receive.
            throw Self.transportError(error)
        }
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

    /// Socket-level errors surface as `connectionClosed`; protocol errors keep their reason.
    private static func transportError(_ error: any Error) -> any Error {
        error is TransportError ? error : TransportError.connectionClosed
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// Frame decoding (handshake-sized frames until the owner raises the limit), the idle
    /// timeout (armed after the handshake) and delivery of frames into `inbox`.
    func addFrameHandlers(
        inbox: AsyncThrowingStream<ByteBuffer, Error>.Continuation, onIdleTimeout: @escaping @Sendable () -> Void = {}
    ) throws {
        try addHandler(StagedFrameDecoder(.init(
            frames: [SecureHandshake.helloSize, SecureHandshake.authSize], thereafter: nil)))
        try addHandler(IdleTimeoutHandler(onTimeout: onIdleTimeout))
        try addHandler(FrameInboxHandler(inbox: inbox))
    }
}
