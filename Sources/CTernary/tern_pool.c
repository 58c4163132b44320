// Fixed thread pool. Workers spin briefly on a generation counter (kernel calls in a
// decode loop arrive microseconds apart) and then sleep on a condition variable so an
// idle daemon burns no CPU.
#define _GNU_SOURCE
#include "tern_pool.h"
#include "tern_cpu.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TERN_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define TERN_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define TERN_CPU_RELAX() ((void)0)
#endif

#define TERN_SPIN_ITERATIONS 20000

struct tern_pool {
    int n_threads;
    pthread_t *workers;
    pthread_mutex_t run_lock;   // serializes runs from different callers
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    _Atomic unsigned generation; // bumped once per run
    _Atomic int next_task;
    _Atomic int active;          // workers still inside the current run
    _Atomic int sleeping;
    _Atomic int stop;
    int n_tasks;
    tern_task_fn fn;
    void *ctx;
    unsigned dispatch; // the caller's kernel class override, taken on by workers for the run
};

typedef struct { tern_pool *pool; int index; } worker_arg;

static void drain(tern_pool *p, int thread) {
    for (;;) {
        int t = atomic_fetch_add_explicit(&p->next_task, 1, memory_order_relaxed);
        if (t >= p->n_tasks) break;
        p->fn(p->ctx, t, thread);
    }
}

static void *worker_main(void *raw) {
    worker_arg arg = *(worker_arg *)raw;
    free(raw);
    tern_pool *p = arg.pool;
    // Workers are created before the first run and a run cannot finish without every
    // worker, so generation 0 is the one a new worker has "seen" even if it starts late.
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
               !atomic_load_explicit(&p->stop, memory_order_relaxed)) {
            if (++spins < TERN_SPIN_ITERATIONS) {
                // Spin first (calls arrive microseconds apart), then yield so that on a
                // busy machine the thread that will post the next run gets the core.
                if (spins < 2000) TERN_CPU_RELAX(); else sched_yield();
                continue;
            }
            pthread_mutex_lock(&p->sleep_lock);
            atomic_fetch_add(&p->sleeping, 1);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->sleep_lock);
            atomic_fetch_sub(&p->sleeping, 1);
            pthread_mutex_unlock(&p->sleep_lock);
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = g;
        // A task that picks a kernel automatically picks what its caller would have.
        tern_dispatch_override_set(p->dispatch);
        drain(p, arg.index);
        atomic_fetch_sub_explicit(&p->active, 1, memory_order_acq_rel);
    }
}

tern_pool *tern_pool_create(int n_threads) {
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    tern_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->run_lock, NULL);
    pthread_mutex_init(&p->sleep_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (n_threads > 1) {
        p->workers = calloc((size_t)n_threads - 1, sizeof(pthread_t));
        if (!p->workers) { free(p); return NULL; }
        for (int i = 1; i < n_threads; i++) {
            worker_arg *arg = malloc(sizeof *arg);
            if (!arg) { p->n_threads = i; break; }
            arg->pool = p; arg->index = i;
            if (pthread_create(&p->workers[i - 1], NULL, worker_main, arg) != 0) {
                free(arg); p->n_threads = i; break;
            }
        }
    }
    return p;
}

void tern_pool_destroy(tern_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->sleep_lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->sleep_lock);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->workers[i - 1], NULL);
    free(p->workers);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->sleep_lock);
    pthread_mutex_destroy(&p->run_lock);
    free(p);
}

int tern_pool_threads(const tern_pool *p) { return p ? p->n_threads : 1; }

void tern_pool_run(tern_pool *p, int n_tasks, tern_task_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&p->run_lock);
    p->n_tasks = n_tasks;
    p->fn = fn;
    p->ctx = ctx;
    p->dispatch = tern_dispatch_override_get();
    atomic_store_explicit(&p->next_task, 0, memory_order_relaxed);
    atomic_store_explicit(&p->active, p->n_threads - 1, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1); // seq_cst: pairs with the sleeping check below
    if (atomic_load(&p->sleeping) > 0) {
        pthread_mutex_lock(&p->sleep_lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->sleep_lock);
    }
    drain(p, 0);
    // Spin briefly, then yield: on an oversubscribed machine the worker we wait for may be
    // descheduled, and burning our time slice would only delay it.
    for (int spins = 0; atomic_load_explicit(&p->active, memory_order_acquire) > 0; spins++) {
        if (spins < 2000) TERN_CPU_RELAX();
        else sched_yield();
    }
    pthread_mutex_unlock(&p->run_lock);
}
