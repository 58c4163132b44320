#include "native_checks.h"
#include "tern_kernels.h"
#include <stdlib.h>

static void square(void *ctx, int task, int thread) {
    (void)thread;
    int *out = ctx;
    out[task] = task * task;
}

static void record_features(void *ctx, int task, int thread) {
    (void)thread;
    unsigned *out = ctx;
    out[task] = tern_dispatch_features();
}

/// The per-thread kernel class override narrows automatic choices, and pool workers take
/// on the caller's override for a run.
static void check_override(void) {
    enum { N = 64 };
    unsigned seen[N];
    tern_pool *pool = tern_pool_create(3);
    unsigned previous = tern_dispatch_override_set(0);
    native_check(previous == TERN_DISPATCH_AUTOMATIC, "override: none set at first");
    native_check(tern_float_variant_best() == TERN_FV_SCALAR && tern_variant_best() == TERN_VARIANT_SCALAR,
                 "override: an empty feature set picks scalar");
    tern_pool_run(pool, N, record_features, seen);
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= seen[i] == 0;
    native_check(ok, "override: pool workers run the caller's override");
    tern_dispatch_override_set(TERN_CPU_NEON);
    native_check(tern_float_variant_best() == TERN_FV_NEON && tern_variant_best() == TERN_VARIANT_NEON,
                 "override: NEON without dotprod");
    tern_dispatch_override_set(previous);
    native_check(tern_variant_best() == TERN_VARIANT_NEON_DOTPROD, "override: cleared");
    tern_pool_run(pool, N, record_features, seen);
    ok = 1;
    for (int i = 0; i < N; i++) ok &= seen[i] == tern_cpu_features();
    native_check(ok, "override: pool workers drop it with the caller");
    tern_pool_destroy(pool);
}

void native_checks_pool(void) {
    enum { N = 1000 };
    int *out = calloc(N, sizeof(int));
    tern_pool *pool = tern_pool_create(3);
    native_check(pool != NULL && tern_pool_threads(pool) == 3, "pool: create 3 threads");
    for (int run = 0; run < 50; run++) tern_pool_run(pool, N, square, out);
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= out[i] == i * i;
    native_check(ok, "pool: every task ran once per run");
    tern_pool_destroy(pool);
    native_check((tern_cpu_features() & TERN_CPU_NEON) != 0, "cpu: NEON detected on aarch64");
    native_check((tern_cpu_features() & TERN_CPU_DOTPROD) != 0, "cpu: dotprod detected on cortex-a76");
    check_override();
    free(out);
}
