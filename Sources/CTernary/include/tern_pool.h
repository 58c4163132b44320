#ifndef TERN_POOL_H
#define TERN_POOL_H
// A fixed-size thread pool for kernels. The calling thread takes part in every run, so a
// pool of N threads starts N-1 workers. Tasks are handed out by an atomic counter; a
// kernel stays bit-identical for any thread count as long as each task writes its own
// disjoint slice of the output (never a cross-task reduction).
#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_pool tern_pool;

/// One unit of work: `task` in [0, n_tasks), `thread` in [0, n_threads) identifies the
/// running thread (for per-thread scratch space).
typedef void (*tern_task_fn)(void *ctx, int task, int thread);

/// Creates a pool that runs work on `n_threads` threads (the caller plus n_threads-1
/// workers). n_threads <= 0 means "one per online CPU". Returns NULL on failure.
tern_pool *tern_pool_create(int n_threads);
void tern_pool_destroy(tern_pool *pool);
int tern_pool_threads(const tern_pool *pool);

/// Runs fn(ctx, task, thread) for every task in [0, n_tasks) and returns when all are
/// done. Runs are serialized: a pool executes one run at a time (callers from several
/// threads are safe, they wait for each other). `pool` may be NULL: runs on the caller.
/// Workers run the tasks under the caller's kernel class override (tern_cpu.h).
void tern_pool_run(tern_pool *pool, int n_tasks, tern_task_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
