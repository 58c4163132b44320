import NIOCore

/// Splits a TCP byte stream into frames of `u32 big-endian length ‖ payload`. A length over
/// the limit is refused as soon as its 4 bytes arrive, before anything is buffered for it.
struct LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxPayload: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.takeFrame(from: &buffer, maxPayload: maxPayload) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    /// Takes one whole frame's payload off the front of `buffer`, or nil while it is
    /// incomplete. Pure, so the handshake fuzz target cuts its input with this very code.
    static func takeFrame(from buffer: inout ByteBuffer, maxPayload: Int) throws -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard Int(length) <= maxPayload else {
            throw TransportError.frameTooLarge(size: Int(length), limit: maxPayload)
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(length))!
    }
}

/// Hands each decoded frame to an async consumer, with backpressure: once
/// `maxBufferedFrames` frames wait unconsumed, socket reads stop until the consumer
/// reports progress (`FrameConsumed`), so a fast peer cannot grow this node's memory.
/// The stream ends when the connection closes and fails with the pipeline's error
/// (oversize frame, reset), after which the channel is closed.
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
    /// `u32 big-endian length ‖ payload`, the framing `LengthPrefixedFrameDecoder` reads.
    static func lengthPrefixedFrame(_ payload: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 4 + payload.count)
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }
}
