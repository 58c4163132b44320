import TernSupport
import Foundation
import TernKernels
import TernMesh

#if canImport(Glibc)
import Glibc
#endif

struct ConditionTimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` until it holds; throws once `timeout` has passed.
/// The default deadline is long: in the full suite, synchronous model tests hold the
/// cooperative pool (both threads on a 2-core machine) for seconds at a time, and the
/// tasks that submit work and this poll wait for it like anything else on the pool.
func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw ConditionTimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// A value shared between tasks and threads under a lock.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    var current: Value { lock.withLock { value } }
    func update<R>(_ change: (inout Value) -> R) -> R { lock.withLock { change(&value) } }
}

/// Real model work: one ternary GEMM (1024×1024 TQ2_0 weights, 64 tokens) per `step`, on
/// the calling thread only, so that N callers busy exactly N cores.
final class TernaryGEMMLoad: Sendable {
    private let matrix: TernaryMatrix
    private let activations: QuantizedActivations

    init(rows: Int = 1024, cols: Int = 1024, tokens: Int = 64) throws {
        var generator = SplitMix64(seed: 0xc0de)
        let weights = (0..<rows * cols).map { _ in Float(Int(generator.next() % 3) - 1) }
        let x = (0..<tokens * cols).map { _ in Float(Int(generator.next() % 255) - 127) / 127 }
        let encoded = try TernaryEncoding.tq2_0.encode(weights, rows: rows, cols: cols)
        matrix = try TernaryMatrix.repacking(encoded, encoding: .tq2_0, rows: rows, cols: cols)
        activations = try QuantizedActivations(x, tokens: tokens, cols: cols)
    }

    /// One product; returns a value from it so the work cannot be optimized away.
    @discardableResult
    func step() -> Float {
        (try? matrix.gemm(activations, pool: nil))?.first ?? 0
    }
}

/// CPU seconds this process has used, across all its threads.
func processCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1e3 }
}

/// A blocking UDP socket driven from its own thread: it measures a node's answers without
/// needing the cooperative pool itself, so it still measures when that pool is held.
final class BlockingUDPPinger: @unchecked Sendable {
    private let fd: Int32

    init(receiveTimeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// On a new thread: runs `beforeSending` (which may wait for a condition), sends one
    /// datagram to 127.0.0.1:`port` and waits for the answer. Returns the time from just
    /// before the send to the answer, or nil if none came within the receive timeout.
    func roundTrip(toPort port: Int, beforeSending: @escaping @Sendable () -> Void = {}) async -> Duration? {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { [self] in
                beforeSending()
                continuation.resume(returning: blockingRoundTrip(toPort: port))
            }
        }
    }

    private func blockingRoundTrip(toPort port: Int) -> Duration? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let payload: [UInt8] = Array("ping".utf8)
        let start = ContinuousClock.now
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent == payload.count else { return nil }
        var reply = [UInt8](repeating: 0, count: 64)
        guard recv(fd, &reply, reply.count, 0) > 0 else { return nil }
        return start.duration(to: .now)
    }
}

/// Answers every datagram with the same bytes, from a task on the cooperative pool, the
/// way the mesh runtime answers gossip.
struct UDPEcho {
    let channel: UDPChannel
    let task: Task<Void, Never>

    static func start(priority: TaskPriority = .medium) async throws -> UDPEcho {
        let channel = try await UDPChannel.bind(host: "127.0.0.1", port: 0)
        let task = Task.detached(priority: priority) {
            for await datagram in channel.datagrams {
                try? await channel.send(datagram.bytes, to: datagram.sender)
            }
        }
        return UDPEcho(channel: channel, task: task)
    }

    var port: Int { channel.localAddress.port! }

    func stop() async {
        await channel.close()
        await task.value
    }
}
