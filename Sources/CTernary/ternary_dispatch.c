// Picks a kernel variant and spreads the work over the thread pool. Every task owns a
// disjoint slice of the output and computes it in a fixed order, so results do not depend
// on the thread count.
#include "ternary_internal.h"
#include "tern_cpu.h"
#include <stdlib.h>

static const tern_ternary_kernels *kernels_for(tern_variant v) {
    if (!tern_variant_available(v)) return &tern_ternary_scalar;
    switch (v) {
#if defined(__x86_64__)
    case TERN_VARIANT_AVX2: return &tern_ternary_avx2;
    case TERN_VARIANT_AVX512VNNI: return &tern_ternary_avx512vnni;
#endif
#if defined(__aarch64__)
    case TERN_VARIANT_NEON: return &tern_ternary_neon;
    case TERN_VARIANT_NEON_DOTPROD: return &tern_ternary_neon_dotprod;
#endif
    default: return &tern_ternary_scalar;
    }
}

/// Whether variant v needs only features in f.
static int runs_with(tern_variant v, unsigned f) {
    switch (v) {
    case TERN_VARIANT_SCALAR: return 1;
#if defined(__x86_64__)
    case TERN_VARIANT_AVX2: return (f & TERN_CPU_AVX2) != 0;
    case TERN_VARIANT_AVX512VNNI: {
        unsigned need = TERN_CPU_AVX512F | TERN_CPU_AVX512BW | TERN_CPU_AVX512VNNI;
        return (f & need) == need;
    }
#endif
#if defined(__aarch64__)
    case TERN_VARIANT_NEON: return (f & TERN_CPU_NEON) != 0;
    case TERN_VARIANT_NEON_DOTPROD: return (f & TERN_CPU_DOTPROD) != 0;
#endif
    default: (void)f; return 0;
    }
}

int tern_variant_available(tern_variant v) { return runs_with(v, tern_cpu_features()); }

tern_variant tern_variant_best(void) {
    static const tern_variant order[] = {TERN_VARIANT_AVX512VNNI, TERN_VARIANT_AVX2,
                                         TERN_VARIANT_NEON_DOTPROD, TERN_VARIANT_NEON};
    unsigned f = tern_dispatch_features(); // the calling thread's kernel class
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (runs_with(order[i], f)) return order[i];
    return TERN_VARIANT_SCALAR;
}

static void *scratch_alloc(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }

// ---- GEMV: a few tokens, contiguous runs of rows, weights decoded on the fly ------------

/// Rows are split into a few contiguous runs per thread rather than many small chunks: a
/// thread then streams long runs of consecutive weight bytes (the hardware prefetcher stays
/// ahead), and the task counter is touched a handful of times per call instead of once per
/// 32 rows. Two runs per thread still lets a thread that started late take less work.
/// (Measured on the 2-core Zen 5 guest: 32-row tasks 31 GB/s, two runs per thread 47-59.)
#define GEMV_TASKS_PER_THREAD 2
/// Rows computed per kernel call inside a run (the size of the int32 buffer on the stack).
#define GEMV_CHUNK 32

/// Products of up to this many tokens run on the GEMV path with these kernels.
static size_t gemv_max_tokens(const tern_ternary_kernels *k) {
    return k->gemv_max_tokens ? k->gemv_max_tokens : TERN_GEMV_MAX_TOKENS;
}

/// Rows r0 .. r0+n-1 (n <= GEMV_CHUNK) of w times every token of x into y.
static void gemv_chunk(const tern_ternary_kernels *k, const tern_t5_matrix *w, const tern_activations *x, float *y,
                       size_t r0, size_t n) {
    int32_t dots[TERN_GEMV_GROUP_MAX * GEMV_CHUNK];
    size_t group = k->gemv_tokens && k->gemv_group ? k->gemv_group : TERN_GEMV_TOKENS;
    for (size_t t0 = 0; t0 < x->tokens; t0 += group) {
        size_t nt = x->tokens - t0 < group ? x->tokens - t0 : group;
        if (k->gemv_tokens) k->gemv_tokens(w, x->q + t0 * x->stride, x->stride, nt, r0, n, dots);
        else
            for (size_t t = 0; t < nt; t++) k->gemv_rows(w, x->q + (t0 + t) * x->stride, r0, n, dots + t * n);
        for (size_t t = 0; t < nt; t++)
            for (size_t i = 0; i < n; i++)
                y[(t0 + t) * w->rows + r0 + i] =
                    tern_dequantize_dot(dots[t * n + i], x->sums[t0 + t], w->row_scales[r0 + i], x->dequant[t0 + t]);
    }
}

/// Several matrices that read the same activations (Q, K and V; gate and up) as one run
/// of row chunks: chunk c of the concatenation is chunk c - first[i] of matrix i.
typedef struct {
    const tern_ternary_kernels *k;
    const tern_t5_matrix *const *ws;
    float *const *ys;
    size_t count;
    const tern_activations *x;
    size_t first[TERN_MATMUL_MANY_MAX + 1]; // first chunk of each matrix; first[count] = total
    size_t chunks_per_task;
} gemv_job;

static void gemv_task(void *raw, int task, int thread) {
    (void)thread;
    gemv_job *job = raw;
    size_t c = (size_t)task * job->chunks_per_task, end = c + job->chunks_per_task;
    if (end > job->first[job->count]) end = job->first[job->count];
    size_t i = 0;
    for (; c < end; c++) {
        while (c >= job->first[i + 1]) i++;
        const tern_t5_matrix *w = job->ws[i];
        size_t r0 = (c - job->first[i]) * GEMV_CHUNK, n = w->rows - r0 < GEMV_CHUNK ? w->rows - r0 : GEMV_CHUNK;
        gemv_chunk(job->k, w, job->x, job->ys[i], r0, n);
    }
}

// ---- GEMM: row blocks unpacked to int8 codes, reused across all tokens -------------------

typedef struct {
    const tern_ternary_kernels *k;
    const tern_t5_matrix *w;
    const tern_activations *x;
    float *y;
    uint8_t *scratch; // per thread: TERN_GEMM_ROW_BLOCK * stride (unpacked rows)
    int32_t *dots;    // per thread: tokens * TERN_GEMM_ROW_BLOCK
} gemm_job;

void tern_t5_unpack_block(const tern_t5_matrix *w, size_t r0, size_t kp, uint8_t *codes) {
    size_t row_bytes = tern_t5_row_bytes(w->cols), padded = tern_t5_padded_cols(w->cols);
    for (size_t i = 0; i < TERN_GEMM_ROW_BLOCK; i++) {
        if (r0 + i < w->rows) {
            tern_t5_unpack_row(w->packed + (r0 + i) * row_bytes, w->cols, codes + i * kp);
            memset(codes + i * kp + padded, 1, kp - padded);
        } else {
            memset(codes + i * kp, 1, kp);
        }
    }
}

static void gemm_task(void *raw, int task, int thread) {
    gemm_job *job = raw;
    const tern_t5_matrix *w = job->w;
    const tern_activations *x = job->x;
    size_t r0 = (size_t)task * TERN_GEMM_ROW_BLOCK;
    uint8_t *scratch = job->scratch + (size_t)thread * TERN_GEMM_ROW_BLOCK * x->stride;
    int32_t *dots = job->dots + (size_t)thread * TERN_GEMM_ROW_BLOCK * x->tokens;
    size_t n = w->rows - r0 < TERN_GEMM_ROW_BLOCK ? w->rows - r0 : TERN_GEMM_ROW_BLOCK;
    job->k->gemm_block(w, r0, x, scratch, dots);
    for (size_t t = 0; t < x->tokens; t++)
        for (size_t i = 0; i < n; i++)
            job->y[t * w->rows + r0 + i] = tern_dequantize_dot(dots[t * TERN_GEMM_ROW_BLOCK + i], x->sums[t],
                                                              w->row_scales[r0 + i], x->dequant[t]);
}

void tern_t5_matmul(tern_variant v, tern_pool *pool, const tern_t5_matrix *w,
                    const tern_activations *x, float *y) {
    if (w->rows == 0 || x->tokens == 0) return;
    const tern_ternary_kernels *k = kernels_for(v);
    if (x->tokens <= gemv_max_tokens(k)) {
        tern_t5_matmul_many(v, pool, &w, &y, 1, x);
        return;
    }
    size_t threads = (size_t)tern_pool_threads(pool);
    gemm_job job = {k, w, x, y,
                    scratch_alloc(threads * TERN_GEMM_ROW_BLOCK * x->stride),
                    scratch_alloc(threads * TERN_GEMM_ROW_BLOCK * x->tokens * sizeof(int32_t))};
    if (job.scratch && job.dots)
        tern_pool_run(pool, (int)((w->rows + TERN_GEMM_ROW_BLOCK - 1) / TERN_GEMM_ROW_BLOCK), gemm_task, &job);
    free(job.scratch);
    free(job.dots);
}

void tern_t5_matmul_many(tern_variant v, tern_pool *pool, const tern_t5_matrix *const *ws, float *const *ys,
                         size_t count, const tern_activations *x) {
    if (count == 0 || x->tokens == 0) return;
    if (x->tokens > gemv_max_tokens(kernels_for(v)) || count > TERN_MATMUL_MANY_MAX) {
        for (size_t i = 0; i < count; i++) tern_t5_matmul(v, pool, ws[i], x, ys[i]);
        return;
    }
    gemv_job job = {kernels_for(v), ws, ys, count, x, {0}, 0};
    for (size_t i = 0; i < count; i++) job.first[i + 1] = job.first[i] + (ws[i]->rows + GEMV_CHUNK - 1) / GEMV_CHUNK;
    size_t chunks = job.first[count], tasks = (size_t)tern_pool_threads(pool) * GEMV_TASKS_PER_THREAD;
    if (chunks == 0) return;
    job.chunks_per_task = (chunks + tasks - 1) / tasks;
    tern_pool_run(pool, (int)((chunks + job.chunks_per_task - 1) / job.chunks_per_task), gemv_task, &job);
}

// ---- Transposed product (float) ------------------------------------------------------------

typedef struct {
    const tern_t5_matrix *w;
    const float *g;
    size_t tokens;
    float *dx;
    float *acc;       // per thread: tokens * TERN_T5_GROUP
} transposed_job;

static void transposed_task(void *raw, int task, int thread) {
    transposed_job *job = raw;
    const tern_t5_matrix *w = job->w;
    size_t row_bytes = tern_t5_row_bytes(w->cols), k0 = (size_t)task * TERN_T5_GROUP;
    float *acc = job->acc + (size_t)thread * job->tokens * TERN_T5_GROUP;
    memset(acc, 0, job->tokens * TERN_T5_GROUP * sizeof(float));
    for (size_t r = 0; r < w->rows; r++) {
        const uint8_t *packed = w->packed + r * row_bytes + (size_t)task * TERN_T5_GROUP_BYTES;
        float weights[TERN_T5_GROUP];
        for (int j = 0; j < 5; j++)
            for (int b = 0; b < TERN_T5_GROUP_BYTES; b++)
                weights[j * 64 + b] = (float)((int)tern_t5_trit(packed[b], j) - 1);
        for (size_t t = 0; t < job->tokens; t++) {
            float c = job->g[t * w->rows + r] * w->row_scales[r];
            float *a = acc + t * TERN_T5_GROUP;
            for (int i = 0; i < TERN_T5_GROUP; i++) a[i] += weights[i] * c;
        }
    }
    size_t n = w->cols - k0 < TERN_T5_GROUP ? w->cols - k0 : TERN_T5_GROUP;
    for (size_t t = 0; t < job->tokens; t++) memcpy(job->dx + t * w->cols + k0, acc + t * TERN_T5_GROUP, n * sizeof(float));
}

void tern_t5_transposed(tern_pool *pool, const tern_t5_matrix *w, const float *g,
                        size_t tokens, float *dx) {
    if (w->cols == 0 || tokens == 0) return;
    size_t threads = (size_t)tern_pool_threads(pool);
    transposed_job job = {w, g, tokens, dx, scratch_alloc(threads * tokens * TERN_T5_GROUP * sizeof(float))};
    if (job.acc) tern_pool_run(pool, (int)(tern_t5_padded_cols(w->cols) / TERN_T5_GROUP), transposed_task, &job);
    free(job.acc);
}

// ---- TQ2_0 read directly -------------------------------------------------------------------

typedef struct {
    const tern_ternary_kernels *k;
    const uint8_t *tq2;
    size_t rows, blocks;
    const tern_activations *x;
    const int32_t *block_sums; // tokens * blocks
    float *y;
} tq2_job;

static void tq2_task(void *raw, int task, int thread) {
    (void)thread;
    tq2_job *job = raw;
    size_t r0 = (size_t)task * TERN_GEMM_ROW_BLOCK;
    for (size_t r = r0; r < job->rows && r < r0 + TERN_GEMM_ROW_BLOCK; r++)
        for (size_t t = 0; t < job->x->tokens; t++) {
            const int8_t *q = job->x->q + t * job->x->stride;
            float sum = 0;
            for (size_t b = 0; b < job->blocks; b++) {
                const uint8_t *block = job->tq2 + (r * job->blocks + b) * TERN_TQ2_0_BLOCK_BYTES;
                int32_t dot = job->k->tq2_block_dot(block, q + b * TERN_QK) - job->block_sums[t * job->blocks + b];
                sum += tern_half_to_float((uint16_t)(block[64] | (block[65] << 8))) * (float)dot;
            }
            job->y[t * job->rows + r] = sum * job->x->dequant[t];
        }
}

void tern_tq2_0_matmul(tern_variant v, tern_pool *pool, const uint8_t *tq2, size_t rows,
                       size_t cols, const tern_activations *x, float *y) {
    size_t blocks = (cols + TERN_QK - 1) / TERN_QK;
    if (rows == 0 || x->tokens == 0) return;
    int32_t *sums = malloc(x->tokens * blocks * sizeof(int32_t) + 1);
    if (!sums) return;
    for (size_t t = 0; t < x->tokens; t++)
        for (size_t b = 0; b < blocks; b++) {
            int32_t s = 0;
            for (size_t i = 0; i < TERN_QK; i++) s += x->q[t * x->stride + b * TERN_QK + i];
            sums[t * blocks + b] = s;
        }
    tq2_job job = {kernels_for(v), tq2, rows, blocks, x, sums, y};
    tern_pool_run(pool, (int)((rows + TERN_GEMM_ROW_BLOCK - 1) / TERN_GEMM_ROW_BLOCK), tq2_task, &job);
    free(sums);
}
