// Tiling and threading of the quantized products. Forward: X is quantized once, then
// each task computes a block of 16 output columns for every row of X. Transposed: the
// float driver tern_gemm_t_tiled with a loader that dequantizes 32×256 weight tiles.
// Tasks write disjoint outputs: any thread count gives the same bits.
#include "quant_variants.h"
#include "float_variants.h"
#include "tern_scratch.h"
#include <stdlib.h>

enum { Q_COLS_PER_TASK = 16, Q_RUNS_PER_THREAD = 2 };

static const tern_quant_kernels *quant_kernels_for(tern_float_variant variant) {
    unsigned f = tern_cpu_features();
    if (variant == TERN_FV_AUTO) {
        unsigned a = tern_dispatch_features(); // the calling thread's kernel class
#if defined(__x86_64__)
        if ((a & TERN_CPU_AVX512VNNI) && (a & TERN_CPU_AVX512BW) && (a & TERN_CPU_AVX2)) return &tern_quant_kernels_avx512;
        if (a & TERN_CPU_AVX2) return &tern_quant_kernels_avx2;
#endif
#if defined(__aarch64__)
        if (a & TERN_CPU_NEON) return &tern_quant_kernels_neon;
#endif
        (void)a;
        return &tern_quant_kernels_scalar;
    }
    switch (variant) {
    case TERN_FV_SCALAR: return &tern_quant_kernels_scalar;
#if defined(__x86_64__)
    case TERN_FV_AVX2: return (f & TERN_CPU_AVX2) ? &tern_quant_kernels_avx2 : NULL;
    case TERN_FV_AVX512:
        return (f & TERN_CPU_AVX512VNNI) && (f & TERN_CPU_AVX512BW) && (f & TERN_CPU_AVX2)
                   ? &tern_quant_kernels_avx512 : NULL;
#endif
#if defined(__aarch64__)
    case TERN_FV_NEON: return (f & TERN_CPU_NEON) ? &tern_quant_kernels_neon : NULL;
#endif
    default: (void)f; return NULL;
    }
}

int tern_quant_variant_supported(tern_float_variant variant) {
    return quant_kernels_for(variant) != NULL;
}

static tern_qdot_fn dot_for(const tern_quant_kernels *k, tern_quant_format format) {
    switch (format) {
    case TERN_Q8_0: return k->q8_0;
    case TERN_Q4_0: return k->q4_0;
    case TERN_Q4_1: return k->q4_1;
    case TERN_Q4_K: return k->q4_k;
    case TERN_Q6_K: return k->q6_k;
    default: return NULL;
    }
}

static tern_qdot4_fn dot2_for(const tern_quant_kernels *k, tern_quant_format format) {
    switch (format) {
    case TERN_Q8_0: return k->q8_0_x2;
    case TERN_Q4_0: return k->q4_0_x2;
    case TERN_Q4_1: return k->q4_1_x2;
    case TERN_Q4_K: return k->q4_k_x2;
    case TERN_Q6_K: return k->q6_k_x2;
    default: return NULL;
    }
}

static tern_qdot4_fn dot4_for(const tern_quant_kernels *k, tern_quant_format format) {
    switch (format) {
    case TERN_Q8_0: return k->q8_0_x4;
    case TERN_Q4_0: return k->q4_0_x4;
    case TERN_Q4_1: return k->q4_1_x4;
    case TERN_Q4_K: return k->q4_k_x4;
    case TERN_Q6_K: return k->q6_k_x4;
    default: return NULL;
    }
}

typedef struct {
    tern_qdot_fn dot;
    tern_qdot4_fn dot4, dot2;
    const tern_q8_act *xq;
    const uint8_t *w;
    float *y;
    size_t n, in, out, row_bytes;
    size_t cols_per_task;
} gemm_q_ctx;

static void gemm_q_task(void *ctx, int task, int thread) {
    (void)thread;
    const gemm_q_ctx *c = ctx;
    size_t j0 = (size_t)task * c->cols_per_task;
    size_t j1 = j0 + c->cols_per_task < c->out ? j0 + c->cols_per_task : c->out;
    const size_t stride = c->in / 32;
    size_t i = 0;
    if (c->dot4) {
        for (; i + 4 <= c->n; i += 4) {
            for (size_t j = j0; j < j1; j++) {
                float out[4];
                c->dot4(c->w + j * c->row_bytes, c->xq + i * stride, stride, c->in, out);
                for (int r = 0; r < 4; r++) c->y[(i + (size_t)r) * c->out + j] = out[r];
            }
        }
    }
    if (c->dot2) {
        for (; i + 2 <= c->n; i += 2) {
            for (size_t j = j0; j < j1; j++) {
                float out[2];
                c->dot2(c->w + j * c->row_bytes, c->xq + i * stride, stride, c->in, out);
                for (int r = 0; r < 2; r++) c->y[(i + (size_t)r) * c->out + j] = out[r];
            }
        }
    }
    for (; i < c->n; i++)
        for (size_t j = j0; j < j1; j++) c->y[i * c->out + j] = c->dot(c->w + j * c->row_bytes, c->xq + i * stride, c->in);
}

int tern_gemm_q(tern_pool *pool, tern_float_variant variant, tern_quant_format format,
                const float *x, size_t n, size_t in, const void *w, size_t out, float *y) {
    const tern_quant_kernels *k = quant_kernels_for(variant);
    size_t qk = tern_quant_block_elements(format);
    if (!k || qk == 0) return TERN_FV_UNSUPPORTED;
    if (n == 0 || out == 0) return TERN_FV_OK;
    tern_q8_act *xq = tern_scratch_acquire(TERN_SCRATCH_QUANT_ACTIVATIONS, n * (in / 32) * sizeof(tern_q8_act));
    if (!xq) return TERN_FV_NOMEM;
    for (size_t i = 0; i < n; i++) tern_quantize_q8_act(x + i * in, in, xq + i * (in / 32));
    // A few rows (decode: the output head) are memory-bound: each thread streams a couple of
    // long contiguous runs of weight rows, which the prefetcher keeps ahead of, instead of
    // claiming 16 rows at a time (as the ternary GEMV does). Outputs stay disjoint and each
    // is computed the same way, so the bits do not change.
    size_t per = Q_COLS_PER_TASK;
    if (n <= 4) {
        size_t runs = (size_t)tern_pool_threads(pool) * Q_RUNS_PER_THREAD;
        size_t even = (out + runs - 1) / runs;
        if (even > per) per = (even + Q_COLS_PER_TASK - 1) / Q_COLS_PER_TASK * Q_COLS_PER_TASK;
    }
    gemm_q_ctx c = { dot_for(k, format), dot4_for(k, format), dot2_for(k, format), xq, w, y, n, in, out,
                     in / qk * tern_quant_block_bytes(format), per };
    tern_pool_run(pool, (int)((out + per - 1) / per), gemm_q_task, &c);
    tern_scratch_release(TERN_SCRATCH_QUANT_ACTIVATIONS, xq);
    return TERN_FV_OK;
}

typedef struct {
    tern_quant_format format;
    const uint8_t *w;
    size_t row_bytes, block_bytes, qk;
} quant_tile_ctx;

/// Dequantizes columns [c0, c0+len) of row o; c0 and len are whole blocks because the
/// tile width (256) is a multiple of every block size and rows are whole blocks.
static void load_quant_tile(const void *ctx, size_t o, size_t c0, size_t len, float *dst) {
    const quant_tile_ctx *c = ctx;
    tern_dequantize(c->format, c->w + o * c->row_bytes + c0 / c->qk * c->block_bytes, dst, len);
}

int tern_gemm_t_q(tern_pool *pool, tern_float_variant variant, tern_quant_format format,
                  const float *g, size_t n, size_t out, const void *w, size_t in, float *dx) {
    const tern_float_kernels *fk = tern_float_kernels_for(variant);
    size_t qk = tern_quant_block_elements(format);
    if (!fk || qk == 0) return TERN_FV_UNSUPPORTED;
    size_t bb = tern_quant_block_bytes(format);
    quant_tile_ctx c = { format, w, in / qk * bb, bb, qk };
    return tern_gemm_t_tiled(pool, fk, g, n, out, in, dx, load_quant_tile, &c);
}
