import CTernary
import TernKernels

/// Runs Swift work on the kernels' thread pool: the same threads as the matmuls, so the
/// attention loops do not compete with pool workers still spinning after a kernel.
enum PoolTasks {
    /// Calls `body(task, thread)` for every task in 0..<tasks, spread over the pool's
    /// threads (on the caller alone, thread 0, when `pool` is nil); `thread` is below the
    /// pool's thread count, for per-thread scratch. Each task must write only its own outputs.
    static func run(_ pool: ThreadPool?, tasks: Int, _ body: (_ task: Int, _ thread: Int) -> Void) {
        guard tasks > 0 else { return }
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { context in
                tern_pool_run(pool?.raw, Int32(tasks), { context, task, thread in
                    context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(Int(task), Int(thread))
                }, context)
            }
        }
    }
}
