import NIOCore
import NIOPosix

/// Accepts TCP connections and yields those whose peer passes the handshake and
/// `requirement` and opens a stream protocol in `protocols`; every other connection is
/// closed and counted by reason (`rejectionCounts()`).
///
/// Every peer is presumed hostile until its handshake verifies, so what an unauthenticated
/// connection can cost is bounded: handshakes are capped listener-wide and per source
/// address and connections per address and in total (`ConnectionLimits`); a connection over
/// a cap is closed as soon as it is accepted, before any task or buffer exists for it.
/// Handshake frames may be only as large as the handshake messages; a handshake must finish
/// within `handshakeTimeout`; an authenticated connection idle for `idleTimeout` is closed.
public final class SecureListener: Sendable {
    /// Authenticated connections, in the order their handshakes finished.
    public let connections: AsyncStream<SecureConnection>
    public let localAddress: SocketAddress
    private let serverChannel: Channel
    private let admission: ListenerAdmission

    /// - Parameters:
    ///   - protocols: the stream protocol ids served here (e.g. `["pushpull/1"]`); a stream
    ///     opened with any other id is closed and counted as `unknownProtocol`.
    ///   - onRejected: called for each connection that was admitted but failed its handshake
    ///     or protocol id, with the reason (for logs). Connections refused or evicted by a
    ///     cap are only counted, so that a flood of them cannot flood the log too.
    public static func bind(
        host: String, port: Int, identity: TransportIdentity, requirement: PeerRequirement,
        protocols: Set<String>,
        maxFrameSize: Int = SecureConnection.defaultMaxFrameSize,
        handshakeTimeout: TimeAmount = SecureConnection.defaultHandshakeTimeout,
        idleTimeout: TimeAmount = SecureConnection.defaultIdleTimeout,
        limits: ConnectionLimits = ConnectionLimits(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onRejected: @escaping @Sendable (_ remote: SocketAddress?, _ reason: any Error) -> Void = { _, _ in }
    ) async throws -> SecureListener {
        for id in protocols where !StreamProtocolID.isValid(id) { throw TransportError.invalidProtocolID(id) }
        let admission = ListenerAdmission(limits: limits)
        let (connections, accepted) = AsyncStream<SecureConnection>.makeStream()
        let serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                // Failing the initializer makes NIO close the socket at once.
                guard let ticket = admission.admit(channel) else {
                    return channel.eventLoop.makeFailedFuture(ListenerAdmission.Refused())
                }
                return channel.eventLoop.makeCompletedFuture {
                    let (frames, inbox) = AsyncThrowingStream<ByteBuffer, Error>.makeStream()
                    try channel.pipeline.syncOperations.addFrameHandlers(
                        inbox: inbox, onIdleTimeout: { admission.count(.idleTimeout) })
                    Task {
                        let connection: SecureConnection
                        do {
                            connection = try await SecureConnection.handshake(
                                on: channel, frames: frames, opening: .acceptor(serving: protocols),
                                identity: identity, requirement: requirement, maxFrameSize: maxFrameSize,
                                timeout: handshakeTimeout, idleTimeout: idleTimeout)
                        } catch {
                            // Evictions were counted when they happened and, like cap
                            // refusals, are not reported one by one.
                            guard let reason = Self.rejection(for: error) else { return }
                            admission.count(reason)
                            onRejected(channel.remoteAddress, error)
                            return
                        }
                        // Evicted (and counted) while finishing: its slot is someone else's now.
                        guard admission.authenticate(ticket) else {
                            await connection.close()
                            return
                        }
                        if case .terminated = accepted.yield(connection) { await connection.close() }
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
        return SecureListener(
            connections: connections, localAddress: localAddress, serverChannel: serverChannel, admission: admission)
    }

    private init(
        connections: AsyncStream<SecureConnection>, localAddress: SocketAddress, serverChannel: Channel,
        admission: ListenerAdmission
    ) {
        self.connections = connections
        self.localAddress = localAddress
        self.serverChannel = serverChannel
        self.admission = admission
    }

    /// How many connections were refused or dropped, by `ConnectionRejection` raw value
    /// (every reason present, zeros included). Thread-safe; a snapshot.
    public func rejectionCounts() -> [String: Int] {
        admission.rejectionCounts()
    }

    /// Connections held now: handshakes in progress, authenticated connections not yet
    /// closed, and distinct source addresses (as the per-address caps count them).
    public var load: (handshaking: Int, authenticated: Int, sources: Int) {
        admission.load
    }

    /// Stops accepting and drops handshakes in progress; connections already yielded stay
    /// open.
    public func close() async {
        try? await serverChannel.close()
        admission.close()
    }

    /// The counter a failed handshake goes to; nil for evictions, counted when they happen.
    static func rejection(for error: any Error) -> ConnectionRejection? {
        switch error as? TransportError {
        case .handshakeEvicted: nil
        case .frameTooLarge: .preAuthFrameTooLarge
        case .handshakeTimeout: .handshakeTimeout
        case .unexpectedPeer: .peerNotAllowed
        case .unknownProtocol: .unknownProtocol
        case .connectionClosed, nil: .closedDuringHandshake
        default: .badHandshake
        }
    }
}
