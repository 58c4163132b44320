import NIOCore
import NIOPosix

/// One UDP datagram as it arrived.
public struct ReceivedDatagram: Sendable {
    public let bytes: [UInt8]
    public let sender: SocketAddress
}

/// A bound UDP socket for gossip: received datagrams go to `datagrams` for an async
/// consumer; `send` writes one datagram. UDP promises nothing, so when the consumer
/// falls behind the oldest queued datagrams are dropped rather than buffered without bound.
public final class UDPChannel: Sendable {
    public let datagrams: AsyncStream<ReceivedDatagram>
    public let localAddress: SocketAddress
    private let channel: Channel

    /// Largest UDP payload over IPv4; reading buffers this size means no datagram is cut.
    static let maxDatagramSize = 65_507

    public static func bind(
        host: String, port: Int, queueLimit: Int = 1024,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> UDPChannel {
        let (datagrams, inbox) = AsyncStream<ReceivedDatagram>.makeStream(bufferingPolicy: .bufferingNewest(queueLimit))
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagramSize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramInboxHandler(inbox: inbox))
                }
            }
            .bind(host: host, port: port)
            .get()
        guard let localAddress = channel.localAddress else {
            try? await channel.close()
            throw TransportError.connectionClosed
        }
        return UDPChannel(datagrams: datagrams, localAddress: localAddress, channel: channel)
    }

    private init(datagrams: AsyncStream<ReceivedDatagram>, localAddress: SocketAddress, channel: Channel) {
        self.datagrams = datagrams
        self.localAddress = localAddress
        self.channel = channel
    }

    /// Sends one datagram; returns once the kernel has taken it.
    public func send(_ bytes: [UInt8], to destination: SocketAddress) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: buffer)).get()
    }

    /// Closes the socket; `datagrams` then ends.
    public func close() async {
        try? await channel.close()
    }
}

/// Forwards datagrams to the consumer's stream; socket errors on one datagram (such as
/// ICMP port unreachable) do not end the channel.
final class DatagramInboxHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let inbox: AsyncStream<ReceivedDatagram>.Continuation

    init(inbox: AsyncStream<ReceivedDatagram>.Continuation) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = unwrapInboundIn(data)
        let bytes = envelope.data.readBytes(length: envelope.data.readableBytes) ?? []
        inbox.yield(ReceivedDatagram(bytes: bytes, sender: envelope.remoteAddress))
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}
