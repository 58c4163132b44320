import Foundation

/// How busy a `ComputeExecutor` is right now.
public struct ComputeOccupancy: Sendable, Equatable, CustomStringConvertible {
    /// Jobs executing on a compute thread.
    public var running: Int
    /// Jobs queued for a free compute thread.
    public var waiting: Int

    public init(running: Int, waiting: Int) {
        self.running = running
        self.waiting = waiting
    }

    public var description: String { "\(running) running, \(waiting) waiting" }
}

/// Runs model work (inference, training, benchmarks) on dedicated threads instead of
/// Swift's cooperative pool.
///
/// That pool has one thread per core; a synchronous forward pass or training step holds
/// its thread for seconds, and with every thread held no gossip is answered and no TCP
/// handshake completes (one CI run lost a handshake that way). Work submitted here runs on
/// the executor's own threads while the caller's task is suspended, so the cooperative pool
/// stays free for networking and the operating system shares the cores between both.
///
/// One thread is the default: the kernels spread each product over every core through
/// the C `ThreadPool`, so a second compute thread adds concurrency between jobs, not speed.
/// The queue is bounded (`queueLimit` jobs waiting; more are refused with
/// `ComputeExecutorError.queueFull`). Cancelling the awaiting task skips work that has not
/// started (`ComputeExecutorError.cancelledBeforeStart`); work that has started runs to
/// the end and its result is returned.
public final class ComputeExecutor: Sendable {
    public let threadCount: Int
    public let queueLimit: Int
    private let jobs: ComputeJobQueue

    /// Starts `threads` compute threads named `name-0`, `name-1`, … (cut to the 15 bytes
    /// Linux keeps of a thread name).
    public init(threads: Int = 1, queueLimit: Int = 64, name: String = "tern-compute") {
        precondition(threads >= 1, "a compute executor needs at least one thread")
        precondition(queueLimit >= 0, "queue limit must not be negative")
        threadCount = threads
        self.queueLimit = queueLimit
        jobs = ComputeJobQueue(limit: queueLimit)
        for index in 0..<threads {
            Thread.detachNewThread { [jobs] in
                nameCurrentThread("\(name)-\(index)")
                jobs.serve()
            }
        }
    }

    /// Refuses queued work; the threads exit once their current job is done.
    deinit { jobs.shutDown() }

    /// Runs `work` on a compute thread and suspends the calling task until it returns.
    /// Throws what `work` throws, or a `ComputeExecutorError` when it never ran.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let job = ComputeJob()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                jobs.submit(
                    job,
                    perform: {
                        let result = Result { try work() }
                        return { continuation.resume(with: result) }
                    },
                    refuse: { continuation.resume(throwing: $0) })
            }
        } onCancel: {
            jobs.cancel(job)
        }
    }

    /// How many jobs are running and waiting.
    public var occupancy: ComputeOccupancy { jobs.occupancy }

    /// Seconds the compute threads have spent in jobs since start (finished jobs; one that
    /// is running counts once it ends). Summed over threads, so it can grow faster than time.
    public var busySeconds: Double { jobs.busySeconds }

    /// Stops taking work: queued jobs fail with `ComputeExecutorError.shutDown`, running
    /// ones finish, and the threads exit. Later calls to `run` fail the same way.
    public func shutDown() { jobs.shutDown() }
}

/// Names the calling thread as `top`, `ps -L` and debuggers show it. On Linux it writes
/// `/proc/thread-self/comm`: Foundation's `Thread.name` setter there reaches a started
/// thread only through a handle its creator may not have stored yet, so the name is
/// sometimes lost and the thread keeps the one inherited from its creator (a cooperative
/// pool thread's), and Glibc as Swift imports it does not declare `pthread_setname_np`.
private func nameCurrentThread(_ name: String) {
    #if os(Linux)
    let linuxNameLimit = 15
    let descriptor = open("/proc/thread-self/comm", O_WRONLY)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    let bytes = Array(name.utf8.prefix(linuxNameLimit))
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    #else
    Thread.current.name = name
    #endif
}
