import NIOCore
import NIOPosix
import Synchronization

/// One UDP datagram as it arrived.
public struct ReceivedDatagram: Sendable {
    public let bytes: [UInt8]
    public let sender: SocketAddress
}

/// A bound UDP socket for gossip: received datagrams go to `datagrams` for an async
/// consumer; `send` writes one datagram. UDP promises nothing, so when the consumer
/// falls behind the oldest queued datagrams are dropped rather than buffered without bound,
/// and a datagram longer than `maxDatagramBytes` is dropped (and counted) as it is read,
/// so the queue holds at most `queueLimit` small buffers whatever arrives.
public final class UDPChannel: Sendable {
    public let datagrams: AsyncStream<ReceivedDatagram>
    public let localAddress: SocketAddress
    private let channel: Channel

    /// Datagrams dropped on arrival for being longer than `maxDatagramBytes`.
    public var oversizeDropped: Int { counter.value.load(ordering: .relaxed) }

    public static func bind(
        host: String, port: Int, queueLimit: Int = 1024, maxDatagramBytes: Int = WireLimits.maxPacketBytes,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> UDPChannel {
        let (datagrams, inbox) = AsyncStream<ReceivedDatagram>.makeStream(bufferingPolicy: .bufferingNewest(queueLimit))
        let counter = OversizeCounter()
        // One byte more than the limit: a longer datagram arrives cut to limit + 1 bytes and
        // is recognised as oversize without ever buffering the rest.
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagramBytes + 1))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DatagramInboxHandler(inbox: inbox, maxDatagramBytes: maxDatagramBytes, oversize: counter))
                }
            }
            .bind(host: host, port: port)
            .get()
        guard let localAddress = channel.localAddress else {
            try? await channel.close()
            throw TransportError.connectionClosed
        }
        return UDPChannel(datagrams: datagrams, localAddress: localAddress, channel: channel, counter: counter)
    }

    private let counter: OversizeCounter

    private init(datagrams: AsyncStream<ReceivedDatagram>, localAddress: SocketAddress, channel: Channel, counter: OversizeCounter) {
        self.datagrams = datagrams
        self.localAddress = localAddress
        self.channel = channel
        self.counter = counter
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
    private let maxDatagramBytes: Int
    private let oversize: OversizeCounter

    init(inbox: AsyncStream<ReceivedDatagram>.Continuation, maxDatagramBytes: Int, oversize: OversizeCounter) {
        self.inbox = inbox
        self.maxDatagramBytes = maxDatagramBytes
        self.oversize = oversize
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = unwrapInboundIn(data)
        guard envelope.data.readableBytes <= maxDatagramBytes else {
            oversize.value.add(1, ordering: .relaxed)
            return
        }
        let bytes = envelope.data.readBytes(length: envelope.data.readableBytes) ?? []
        inbox.yield(ReceivedDatagram(bytes: bytes, sender: envelope.remoteAddress))
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}

/// Shared between the channel handler (event loop) and the channel's owner.
final class OversizeCounter: Sendable {
    let value = Atomic<Int>(0)
}
