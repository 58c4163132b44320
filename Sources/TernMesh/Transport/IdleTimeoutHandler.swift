import NIOCore

/// Closes an authenticated connection that carries no frame either way for `timeout`, so a
/// peer cannot hold one of this node's sockets (and per-address connection slots) forever
/// by going quiet, by trickling a large frame byte by byte, or by never reading what this
/// node writes. It sits after the frame decoder: only whole frames received and writes the
/// socket completed count as activity. Frames are decoded only while this node's consumer
/// keeps up (`FrameInboxHandler` stops reading when 16 frames wait), so a consumer that takes
/// nothing for the whole timeout loses the connection too. Disarmed until the handshake is
/// done (the handshake timeout covers that part); armed by an `Arm` event.
final class IdleTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent by the owner (`channel.triggerUserOutboundEvent`) once the peer is authenticated.
    struct Arm: Sendable {
        let timeout: TimeAmount
    }

    private let onTimeout: @Sendable () -> Void
    private var timeout: TimeAmount?
    private var lastActivity = NIODeadline.now()
    private var check: Scheduled<Void>?

    /// `onTimeout` runs once if the connection is closed for idleness (a listener counts it).
    init(onTimeout: @escaping @Sendable () -> Void = {}) {
        self.onTimeout = onTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard timeout != nil else {
            context.write(data, promise: promise)
            return
        }
        let promise = promise ?? context.eventLoop.makePromise()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { loopBound.value.lastActivity = .now() }
        context.write(data, promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let arm = event as? Arm else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        timeout = arm.timeout
        lastActivity = .now()
        schedule(context: context, at: lastActivity + arm.timeout)
        promise?.succeed()
    }

    private func schedule(context: ChannelHandlerContext, at deadline: NIODeadline) {
        check?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.expire(context: context)
        }
    }

    private func expire(context: ChannelHandlerContext) {
        guard let timeout, context.channel.isActive else { return }
        let due = lastActivity + timeout
        guard due <= .now() else {
            schedule(context: context, at: due)
            return
        }
        check = nil
        onTimeout()
        // Through the pipeline, so the frame inbox ends with this reason and closes.
        context.fireErrorCaught(TransportError.idleTimeout)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }
}
