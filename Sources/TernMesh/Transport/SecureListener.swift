import NIOCore
import NIOPosix

/// Accepts TCP connections and yields those whose peer passes the handshake and
/// `requirement`; every other connection (wrong identity, bad signature, garbage, too
/// slow) is closed and reported to `onRejected`.
public final class SecureListener: Sendable {
    /// Authenticated connections, in the order their handshakes finished.
    public let connections: AsyncStream<SecureConnection>
    public let localAddress: SocketAddress
    private let serverChannel: Channel

    public static func bind(
        host: String, port: Int, identity: TransportIdentity, requirement: PeerRequirement,
        maxFrameSize: Int = SecureConnection.defaultMaxFrameSize,
        handshakeTimeout: TimeAmount = SecureConnection.defaultHandshakeTimeout,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onRejected: @escaping @Sendable (_ remote: SocketAddress?, _ reason: any Error) -> Void = { _, _ in }
    ) async throws -> SecureListener {
        let (connections, accepted) = AsyncStream<SecureConnection>.makeStream()
        let serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let (frames, inbox) = AsyncThrowingStream<ByteBuffer, Error>.makeStream()
                    try channel.pipeline.syncOperations.addFrameHandlers(maxFrameSize: maxFrameSize, inbox: inbox)
                    Task {
                        do {
                            let connection = try await SecureConnection.handshake(
                                on: channel, frames: frames, role: .acceptor, identity: identity,
                                requirement: requirement, maxFrameSize: maxFrameSize, timeout: handshakeTimeout)
                            if case .terminated = accepted.yield(connection) { await connection.close() }
                        } catch {
                            onRejected(channel.remoteAddress, error)
                        }
                    }
                }
            }
            .bind(host: host, port: port)
            .get()
        serverChannel.closeFuture.whenComplete { _ in accepted.finish() }
        guard let localAddress = serverChannel.localAddress else {
            try? await serverChannel.close()
            throw TransportError.connectionClosed
        }
        return SecureListener(connections: connections, localAddress: localAddress, serverChannel: serverChannel)
    }

    private init(connections: AsyncStream<SecureConnection>, localAddress: SocketAddress, serverChannel: Channel) {
        self.connections = connections
        self.localAddress = localAddress
        self.serverChannel = serverChannel
    }

    /// Stops accepting; connections already yielded stay open.
    public func close() async {
        try? await serverChannel.close()
    }
}
