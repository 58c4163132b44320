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
