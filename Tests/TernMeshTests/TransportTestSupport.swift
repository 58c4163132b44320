import Foundation
import NIOCore
import TernMesh

#if canImport(Glibc)
import Glibc
#endif

/// How long the in-process transport tests give a handshake or an exchange. Far above the
/// production 10 s because the whole suite runs in one process: heavy synchronous tests
/// (model parity, training) hold the 2-thread cooperative pool for seconds at a time, and
/// the transport's async handshake tasks wait for a free thread meanwhile. A hang still
/// fails, just later.
let transportTestTimeoutSeconds: Int64 = 60
let transportTestHandshakeTimeout = TimeAmount.seconds(transportTestTimeoutSeconds)

/// Fails instead of hanging when a network exchange never completes.
func withTimeout<T: Sendable>(
    seconds: Double = Double(transportTestTimeoutSeconds), _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut()
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

struct TimedOut: Error {}

/// Collects values handed to a `@Sendable` callback (e.g. a listener's rejections).
final class Collected<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Value] = []

    func append(_ value: Value) { lock.withLock { items.append(value) } }
    var values: [Value] { lock.withLock { items } }

    /// Polls until at least `count` values arrived or `seconds` passed.
    func waitFor(count: Int, seconds: Double = Double(transportTestTimeoutSeconds)) async throws -> [Value] {
        let deadline = Date().addingTimeInterval(seconds)
        while values.count < count {
            guard Date() < deadline else { throw TimedOut() }
            try await Task.sleep(for: .milliseconds(10))
        }
        return values
    }
}

/// A blocking TCP socket to 127.0.0.1, for playing a misbehaving peer.
struct RawTCPClient {
    let fd: Int32

    /// - Parameters:
    ///   - source: the local address to connect from; any 127.x.y.z works on Linux, which
    ///     lets a test play many source addresses against per-address limits.
    ///   - receiveTimeoutSeconds: how long `readUntilClosed` waits for the peer to close.
    init(port: Int, from source: String = "127.0.0.1", receiveTimeoutSeconds: Int = Int(transportTestTimeoutSeconds)) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        let bound = withUnsafePointer(to: &local) { [fd] in
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            _ = Glibc.close(fd)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else {
            _ = Glibc.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the peer closes; nil if it stays open past the receive timeout.
    /// The blocking reads run on their own thread, never on the (small) cooperative pool
    /// that the server side under test needs.
    func readUntilClosed() async -> [UInt8]? {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: blockingReadUntilClosed()) }
        }
    }

    private func blockingReadUntilClosed() -> [UInt8]? {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 { return received }
            if n < 0 { return errno == ECONNRESET ? received : nil }
            received += chunk[0..<n]
        }
    }

    func close() { _ = Glibc.close(fd) }
}

/// Relays one TCP connection to `targetPort`, flipping one byte of the client→server
/// stream at `flipOffset`: a man in the middle who tampers with a ciphertext.
final class ByteFlippingProxy: @unchecked Sendable {
    let port: Int
    private let listenFD: Int32
    private let flipOffset: Int

    init(targetPort: Int, flipOffset: Int) throws {
        self.flipOffset = flipOffset
        listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = listenFD
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))

        Thread.detachNewThread { [self] in
            let client = accept(listenFD, nil, nil)
            guard client >= 0, let server = try? RawTCPClient(port: targetPort) else { return }
            let serverToClientDone = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                Self.pump(from: server.fd, to: client, flipAt: nil)
                serverToClientDone.signal()
            }
            Self.pump(from: client, to: server.fd, flipAt: self.flipOffset)
            serverToClientDone.wait()
            _ = Glibc.close(client)
            server.close()
        }
    }

    private static func pump(from source: Int32, to destination: Int32, flipAt: Int?) {
        var offset = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(source, &chunk, chunk.count, 0)
            guard n > 0 else { break }
            if let flipAt, flipAt >= offset, flipAt < offset + n { chunk[flipAt - offset] ^= 0x01 }
            offset += n
            guard Glibc.send(destination, chunk, n, Int32(MSG_NOSIGNAL)) == n else { break }
        }
        shutdown(destination, Int32(SHUT_WR))
    }

    func close() { _ = Glibc.close(listenFD) }
}
