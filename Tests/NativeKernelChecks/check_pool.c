#include "native_checks.h"
#include "tern_kernels.h"
#include <stdlib.h>

static void square(void *ctx, int task, int thread) {
    (void)thread;
    int *out = ctx;
    out[task] = task * task;
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
    free(out);
}
