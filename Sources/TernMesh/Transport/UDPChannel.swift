import Foundation
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One UDP datagram as it arrived.
public struct ReceivedDatagram: Sendable {
    public let bytes: [UInt8]
    public let sender: SocketAddress
}

/// A bound UDP socket for gossip: received datagrams go to `datagrams` for an async
/// consumer; `send` writes one datagram.
///
/// It is a plain socket with one reader thread rather than a NIO channel on purpose: NIO
/// closes a datagram channel on most send errors, and a send to an unroutable address
/// (a blackholed route, another address family, a network that is down) fails with exactly
/// such an error. A hostile member could then deafen every node by gossiping an endpoint
/// nobody can route to. Here a failed send fails that one datagram and nothing else.
///
/// UDP promises nothing, so when the consumer falls behind the oldest queued datagrams are
/// dropped rather than buffered without bound, and a datagram longer than
/// `maxDatagramBytes` is dropped (and counted) as it is read, so the queue holds at most
/// `queueLimit` small buffers whatever arrives.
public final class UDPChannel: Sendable {
    public let datagrams: AsyncStream<ReceivedDatagram>
    public let localAddress: SocketAddress
    private let descriptor: Int32
    private let state: SocketState

    /// Datagrams dropped on arrival for being longer than `maxDatagramBytes`.
    public var oversizeDropped: Int { state.oversize.load(ordering: .relaxed) }

    public static func bind(host: String, port: Int, queueLimit: Int = 1024,
                            maxDatagramBytes: Int = WireLimits.maxPacketBytes) async throws -> UDPChannel {
        let requested = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let family = requested.protocol == .inet6 ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        // The reader wakes at least this often to notice `close()`.
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bound = requested.withSockAddr { Glibc.bind(descriptor, $0, socklen_t($1)) }
        guard bound == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw IOError(errnoCode: code, reason: "bind \(host):\(port)")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        let localAddress = Self.address(from: storage) ?? requested
        let (datagrams, inbox) = AsyncStream<ReceivedDatagram>.makeStream(bufferingPolicy: .bufferingNewest(queueLimit))
        let state = SocketState()
        let reader = Thread {
            Self.readLoop(descriptor: descriptor, maxDatagramBytes: maxDatagramBytes, state: state, inbox: inbox)
        }
        reader.name = "tern-udp-\(localAddress.port ?? 0)"
        reader.start()
        return UDPChannel(datagrams: datagrams, localAddress: localAddress, descriptor: descriptor, state: state)
    }

    private init(datagrams: AsyncStream<ReceivedDatagram>, localAddress: SocketAddress, descriptor: Int32, state: SocketState) {
        self.datagrams = datagrams
        self.localAddress = localAddress
        self.descriptor = descriptor
        self.state = state
    }

    /// Sends one datagram without blocking. Throws if this one datagram could not be sent
    /// (no route, wrong address family, a full socket buffer); the socket stays open.
    public func send(_ bytes: [UInt8], to destination: SocketAddress) async throws {
        guard !state.closed.load(ordering: .acquiring) else { throw IOError(errnoCode: EBADF, reason: "send on a closed UDP channel") }
        let sent = bytes.withUnsafeBytes { buffer in
            destination.withSockAddr { address, length in
                sendto(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL), address, socklen_t(length))
            }
        }
        guard sent == bytes.count else { throw IOError(errnoCode: errno, reason: "sendto \(destination)") }
    }

    /// Closes the socket; `datagrams` then ends.
    public func close() async {
        guard !state.closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    deinit {
        if !state.closed.exchange(true, ordering: .acquiringAndReleasing) { shutdown(descriptor, Int32(SHUT_RDWR)) }
    }

    /// Runs on the reader thread until `close()`; then closes the descriptor and the stream.
    private static func readLoop(descriptor: Int32, maxDatagramBytes: Int, state: SocketState,
                                 inbox: AsyncStream<ReceivedDatagram>.Continuation) {
        // One byte more than the limit: a longer datagram arrives cut to limit + 1 bytes and
        // is recognised as oversize without ever buffering the rest.
        var buffer = [UInt8](repeating: 0, count: maxDatagramBytes + 1)
        while !state.closed.load(ordering: .acquiring) {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, bytes.baseAddress, bytes.count, 0, $0, &length) }
                }
            }
            // Timeouts, interruptions and ICMP errors of earlier sends: read on.
            guard count >= 0 else { continue }
            guard count <= maxDatagramBytes else {
                state.oversize.add(1, ordering: .relaxed)
                continue
            }
            guard let sender = address(from: storage) else { continue }
            inbox.yield(ReceivedDatagram(bytes: Array(buffer[0..<count]), sender: sender))
        }
        Glibc.close(descriptor)
        inbox.finish()
    }

    private static func address(from storage: sockaddr_storage) -> SocketAddress? {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee) } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee) } }
        default:
            return nil
        }
    }
}

/// Shared between the reader thread and the channel's owner.
final class SocketState: Sendable {
    let closed = Atomic<Bool>(false)
    let oversize = Atomic<Int>(0)
}
