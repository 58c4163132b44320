import NIOCore

/// Splits a TCP byte stream into frames of `u32 big-endian length ‖ payload`, with a limit
/// that depends on where the stream is. Before the peer has authenticated, each frame may be
/// only as large as the handshake message it must be (hello, then auth); after those the
/// decoder pauses (stops reading from the socket) until the owner, having verified the
/// peer, grants the next limits with an `Allowance` event. So an unauthenticated peer can
/// make this node buffer at most a handshake message plus what one socket read returned,
/// and a length over the current limit closes the connection as soon as its 4 bytes arrive.
final class StagedFrameDecoder: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Never

    /// Sent by the owner (`channel.triggerUserOutboundEvent`): the limits of the next
    /// frames, one each, then `thereafter` for every later frame; nil pauses again.
    struct Allowance: Sendable {
        var frames: [Int]
        var thereafter: Int?
    }

    private var upcoming: [Int]
    private var thereafter: Int?
    private var cumulation: ByteBuffer?
    private var readPending = false
    private var failed = false

    init(_ allowance: Allowance) {
        upcoming = allowance.frames
        thereafter = allowance.thereafter
    }

    /// The limit of the next frame; nil while paused.
    private var nextLimit: Int? { upcoming.first ?? thereafter }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var incoming = unwrapInboundIn(data)
        if cumulation == nil {
            cumulation = incoming
        } else {
            cumulation!.writeBuffer(&incoming)
        }
        decodeFrames(context: context)
    }

    private func decodeFrames(context: ChannelHandlerContext) {
        guard var buffer = cumulation else { return }
        cumulation = nil
        var sliced = false
        while !failed, let limit = nextLimit {
            let frame: ByteBuffer
            do {
                guard let taken = try LengthPrefixedFrameDecoder.takeFrame(from: &buffer, maxPayload: limit) else { break }
                frame = taken
            } catch {
                fail(context: context, error: error)
                return
            }
            if !upcoming.isEmpty { upcoming.removeFirst() }
            sliced = true
            context.fireChannelRead(wrapInboundOut(frame))
        }
        guard !failed, buffer.readableBytes > 0 else { return }
        if sliced {
            // Frames handed on share the buffer's storage; move the short remainder to a
            // fresh buffer so that appending to it never copies the frames already sent.
            var remainder = context.channel.allocator.buffer(capacity: buffer.readableBytes)
            remainder.writeBuffer(&buffer)
            buffer = remainder
        }
        cumulation = buffer
    }

    private func fail(context: ChannelHandlerContext, error: Error) {
        failed = true
        cumulation = nil
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if nextLimit == nil {
            readPending = true
        } else {
            context.read()
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let allowance = event as? Allowance else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        upcoming = allowance.frames
        thereafter = allowance.thereafter
        promise?.succeed()
        // Frames that arrived while paused are decoded under the new limits first.
        decodeFrames(context: context)
        if readPending, nextLimit != nil {
            readPending = false
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cumulation = nil
        context.fireChannelInactive()
    }
}

/// Hands each decoded frame to an async consumer, with backpressure: once
/// `maxBufferedFrames` frames wait unconsumed, socket reads stop until the consumer
/// reports progress (`FrameConsumed`), so a fast peer cannot grow this node's memory.
/// The stream ends when the connection closes and fails with the pipeline's error
/// (oversize frame, reset, or a timeout or eviction fired into the pipeline), after which
/// the channel is closed.
final class FrameInboxHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never

    /// Sent by the consumer (`channel.triggerUserOutboundEvent`) after taking one frame.
    struct FrameConsumed: Sendable {}

    static let maxBufferedFrames = 16

    private let inbox: AsyncThrowingStream<ByteBuffer, Error>.Continuation
    private var bufferedFrames = 0
    private var readPending = false

    init(inbox: AsyncThrowingStream<ByteBuffer, Error>.Continuation) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bufferedFrames += 1
        inbox.yield(unwrapInboundIn(data))
    }

    func read(context: ChannelHandlerContext) {
        if bufferedFrames >= Self.maxBufferedFrames {
            readPending = true
        } else {
            context.read()
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is FrameConsumed else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        bufferedFrames -= 1
        if readPending, bufferedFrames < Self.maxBufferedFrames {
            readPending = false
            context.read()
        }
        promise?.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        inbox.finish(throwing: error)
        context.close(promise: nil)
    }
}

extension ByteBuffer {
    /// `u32 big-endian length ‖ payload`, the framing `StagedFrameDecoder` reads.
    static func lengthPrefixedFrame(_ payload: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 4 + payload.count)
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }
}

/// The framing rule itself, `u32 big-endian length ‖ payload`, as a pure function: the
/// channel handler above and the handshake fuzz target cut bytes with this very code.
enum LengthPrefixedFrameDecoder {
    /// Takes one whole frame's payload off the front of `buffer`, or nil while it is
    /// incomplete. A length over `maxPayload` throws as soon as its 4 bytes are there.
    static func takeFrame(from buffer: inout ByteBuffer, maxPayload: Int) throws -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard Int(length) <= maxPayload else { throw TransportError.frameTooLarge(size: Int(length), limit: maxPayload) }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(length))!
    }
}
