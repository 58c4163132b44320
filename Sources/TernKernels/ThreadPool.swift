import CTernary

/// The fixed-size thread pool that every kernel runs on. Creating one is expensive (it
/// starts threads); make one per process and pass it down. Results of every kernel are
/// bit-identical for any thread count.
public final class ThreadPool: @unchecked Sendable {
    /// The underlying C pool; kernels take it as an argument.
    public let raw: OpaquePointer
    public let threadCount: Int

    /// - Parameter threads: number of threads including the caller; `nil` = one per online CPU.
    public init(threads: Int? = nil) {
        guard let pool = tern_pool_create(Int32(threads ?? 0)) else {
            fatalError("tern_pool_create failed: cannot start kernel threads")
        }
        raw = pool
        threadCount = Int(tern_pool_threads(pool))
    }

    deinit { tern_pool_destroy(raw) }
}

extension ThreadPool {
    /// Runs `body(task)` for every task in 0..<count on `pool` (nil: on the caller alone)
    /// and returns when all are done, throwing the error of the lowest task that threw.
    /// Tasks run concurrently: each must write only memory no other task touches.
    public static func forEach(_ count: Int, on pool: ThreadPool?, _ body: (Int) throws -> Void) throws {
        guard count > 0 else { return }
        let errors = UnsafeMutableBufferPointer<(any Error)?>.allocate(capacity: count)
        errors.initialize(repeating: nil)
        defer { errors.deinitialize().deallocate() }
        try withoutActuallyEscaping(body) { body in
            let job = TaskBody { task in
                do { try body(task) } catch { errors[task] = error }
            }
            withExtendedLifetime(job) {
                tern_pool_run(pool?.raw, Int32(count), { context, task, _ in
                    Unmanaged<TaskBody>.fromOpaque(context!).takeUnretainedValue().run(Int(task))
                }, Unmanaged.passUnretained(job).toOpaque())
            }
            if let first = errors.lazy.compactMap({ $0 }).first { throw first }
        }
    }
}

/// The closure a pool run calls, boxed so that C can hold it as a context pointer.
private final class TaskBody {
    let run: (Int) -> Void
    init(_ run: @escaping (Int) -> Void) { self.run = run }
}
