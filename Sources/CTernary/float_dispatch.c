// Picks the float kernel table for a variant and runs the shape loops: GEMM tiles on the
// thread pool (each task owns a disjoint block of the output, so any thread count gives
// the same bits), scratch buffers, RoPE angle tables.
#include "float_variants.h"
#include "tern_scratch.h"
#include <stdlib.h>

const tern_float_kernels *tern_float_kernels_for(tern_float_variant variant) {
    unsigned f = tern_cpu_features();
    if (variant == TERN_FV_AUTO) variant = tern_float_variant_best();
    switch (variant) {
    case TERN_FV_SCALAR: return &tern_float_kernels_scalar;
#if defined(__x86_64__)
    case TERN_FV_AVX2: return (f & TERN_CPU_AVX2) ? &tern_float_kernels_avx2 : NULL;
    case TERN_FV_AVX512:
        return (f & TERN_CPU_AVX512F) && (f & TERN_CPU_AVX512BW) && (f & TERN_CPU_AVX2)
                   ? &tern_float_kernels_avx512 : NULL;
#endif
#if defined(__aarch64__)
    case TERN_FV_NEON: return (f & TERN_CPU_NEON) ? &tern_float_kernels_neon : NULL;
#endif
    default: (void)f; return NULL;
    }
}

tern_float_variant tern_float_variant_best(void) {
    unsigned f = tern_dispatch_features();
    if ((f & TERN_CPU_AVX512F) && (f & TERN_CPU_AVX512BW) && (f & TERN_CPU_AVX2)) return TERN_FV_AVX512;
    if (f & TERN_CPU_AVX2) return TERN_FV_AVX2;
    if (f & TERN_CPU_NEON) return TERN_FV_NEON;
    return TERN_FV_SCALAR;
}

int tern_float_variant_supported(tern_float_variant variant) {
    return tern_float_kernels_for(variant) != NULL;
}

// ---- GEMM ----
enum { GEMM_COLS_PER_TASK = 16, GEMM_T_COLS_PER_TASK = 256 };

typedef struct { const tern_float_kernels *k; tern_gemm_job job; } gemm_ctx;

static void gemm_task(void *ctx, int task, int thread) {
    (void)thread;
    gemm_ctx *c = ctx;
    size_t j0 = (size_t)task * GEMM_COLS_PER_TASK;
    size_t j1 = j0 + GEMM_COLS_PER_TASK < c->job.out ? j0 + GEMM_COLS_PER_TASK : c->job.out;
    c->k->gemm_cols(&c->job, j0, j1);
}

int tern_gemm_f(tern_pool *pool, tern_float_variant variant, tern_float_type wtype,
                const float *x, size_t n, size_t in, const void *w, size_t out, float *y) {
    const tern_float_kernels *k = tern_float_kernels_for(variant);
    if (!k) return TERN_FV_UNSUPPORTED;
    if (n == 0 || out == 0) return TERN_FV_OK;
    gemm_ctx c = { k, { x, NULL, w, y, n, in, out, wtype } };
    uint16_t *xb = NULL;
#if defined(__x86_64__)
    // vdpbf16ps rounds X to BF16, so whether it is used is part of the kernel class.
    if (k == &tern_float_kernels_avx512 && wtype == TERN_BF16 && (tern_dispatch_features() & TERN_CPU_AVX512BF16)) {
        xb = malloc(n * in * sizeof(uint16_t) + 1);
        if (!xb) return TERN_FV_NOMEM;
        tern_f32_to_bf16_row(x, xb, n * in);
        c.job.xb = xb;
    }
#endif
    tern_pool_run(pool, (int)((out + GEMM_COLS_PER_TASK - 1) / GEMM_COLS_PER_TASK), gemm_task, &c);
    free(xb);
    return TERN_FV_OK;
}

enum { GEMM_T_TILE_ROWS = 32 };

typedef struct {
    const tern_float_kernels *k;
    const float *g;
    float *dx;
    size_t n, out, in;
    tern_weight_tile_fn load;
    const void *load_ctx;
    int accumulate;
} gemm_t_ctx;

static void gemm_t_task(void *ctx, int task, int thread) {
    (void)thread;
    const gemm_t_ctx *c = ctx;
    float tile[GEMM_T_TILE_ROWS * GEMM_T_COLS_PER_TASK];
    size_t c0 = (size_t)task * GEMM_T_COLS_PER_TASK;
    size_t len = c0 + GEMM_T_COLS_PER_TASK < c->in ? GEMM_T_COLS_PER_TASK : c->in - c0;
    if (!c->accumulate)
        for (size_t i = 0; i < c->n; i++)
            for (size_t k = 0; k < len; k++) c->dx[i * c->in + c0 + k] = 0.0f;
    for (size_t o0 = 0; o0 < c->out; o0 += GEMM_T_TILE_ROWS) {
        size_t depth = o0 + GEMM_T_TILE_ROWS < c->out ? GEMM_T_TILE_ROWS : c->out - o0;
        for (size_t o = 0; o < depth; o++) c->load(c->load_ctx, o0 + o, c0, len, tile + o * len);
        c->k->accumulate_tile(c->g + o0, c->out, c->n, tile, depth, c->dx + c0, c->in, len);
    }
}

/// Every variant's accumulate_tile adds to what DX holds, one FMA per weight row in row
/// order, so accumulate = 1 continues a previous call's sums exactly as if its rows and
/// these had been one call.
static int gemm_t_run(tern_pool *pool, const tern_float_kernels *k, const float *g, size_t n, size_t out,
                      size_t in, float *dx, tern_weight_tile_fn load, const void *ctx, int accumulate) {
    if (n == 0 || in == 0) return TERN_FV_OK;
    gemm_t_ctx c = { k, g, dx, n, out, in, load, ctx, accumulate };
    tern_pool_run(pool, (int)((in + GEMM_T_COLS_PER_TASK - 1) / GEMM_T_COLS_PER_TASK), gemm_t_task, &c);
    return TERN_FV_OK;
}

int tern_gemm_t_tiled(tern_pool *pool, const tern_float_kernels *k, const float *g, size_t n,
                      size_t out, size_t in, float *dx, tern_weight_tile_fn load, const void *ctx) {
    return gemm_t_run(pool, k, g, n, out, in, dx, load, ctx, 0);
}

typedef struct { const tern_float_kernels *k; tern_float_type wtype; const void *w; size_t in; } float_tile_ctx;

static void load_float_tile(const void *ctx, size_t o, size_t c0, size_t len, float *dst) {
    const float_tile_ctx *c = ctx;
    size_t es = c->wtype == TERN_F32 ? 4 : 2;
    c->k->convert_row(c->wtype, (const char *)c->w + (o * c->in + c0) * es, dst, len);
}

int tern_gemm_t_f(tern_pool *pool, tern_float_variant variant, tern_float_type wtype,
                  const float *g, size_t n, size_t out, const void *w, size_t in, float *dx) {
    const tern_float_kernels *k = tern_float_kernels_for(variant);
    if (!k) return TERN_FV_UNSUPPORTED;
    float_tile_ctx c = { k, wtype, w, in };
    return tern_gemm_t_tiled(pool, k, g, n, out, in, dx, load_float_tile, &c);
}

int tern_gemm_t_acc_f(tern_pool *pool, tern_float_variant variant, const float *g, size_t n,
                      size_t out, const float *w, size_t in, float *dx) {
    const tern_float_kernels *k = tern_float_kernels_for(variant);
    if (!k) return TERN_FV_UNSUPPORTED;
    float_tile_ctx c = { k, TERN_F32, w, in };
    return gemm_t_run(pool, k, g, n, out, in, dx, load_float_tile, &c, 1);
}

// ---- row operations ----
int tern_rmsnorm(tern_float_variant variant, const float *x, const float *weight, float eps,
                 size_t rows, size_t d, float *y) {
    const tern_float_kernels *k = tern_float_kernels_for(variant);
    if (!k) return TERN_FV_UNSUPPORTED;
    if (d == 0) return TERN_FV_OK;
    for (size_t r = 0; r < rows; r++) k->rmsnorm_row(x + r * d, weight, eps, d, y + r * d);
    return TERN_FV_OK;
}

int tern_softmax(tern_float_variant variant, const float *x, size_t rows, size_t cols,
                 long causal_offset, float *y) {
    const tern_float_kernels *k = tern_float_kernels_for(variant);
    if (!k) return TERN_FV_UNSUPPORTED;
    if (cols == 0) return TERN_FV_OK;
    for (size_t r = 0; r < rows; r++) {
        size_t valid = cols;
        if (causal_offset >= 0 && r + (size_t)causal_offset + 1 < cols) valid = r + (size_t)causal_offset + 1;
        k->softmax_row(x + r * cols, valid, cols, y + r * cols);
    }
    return TERN_FV_OK;
}

int tern_rope(tern_float_variant variant, float *x, size_t tokens, size_t heads,
              size_t head_dim, size_t rot_dims, const int32_t *positions, float freq_base,
              tern_rope_layout layout, int inverse) {
    const tern_float_kernels *k = tern_float_kernels_for(variant);
    if (!k) return TERN_FV_UNSUPPORTED;
    size_t half = rot_dims / 2;
    if (half == 0 || tokens == 0 || heads == 0) return TERN_FV_OK;
    // One scratch block: inv_freq (half doubles), then the cos and sin rows.
    double *inv_freq = tern_scratch_acquire(TERN_SCRATCH_ROPE, half * sizeof(double) + 2 * rot_dims * sizeof(float));
    if (!inv_freq) return TERN_FV_NOMEM;
    float *cosd = (float *)(inv_freq + half), *sind = cosd + rot_dims;
    for (size_t i = 0; i < half; i++) inv_freq[i] = pow((double)freq_base, -2.0 * (double)i / (double)rot_dims);
    double sign = inverse ? -1.0 : 1.0;
    for (size_t t = 0; t < tokens; t++) {
        for (size_t i = 0; i < half; i++) {
            double angle = (double)positions[t] * inv_freq[i];
            float c = (float)cos(angle), s = (float)(sign * sin(angle));
            size_t a = layout == TERN_ROPE_NEOX ? i : 2 * i;
            size_t b = layout == TERN_ROPE_NEOX ? i + half : 2 * i + 1;
            cosd[a] = c; cosd[b] = c; sind[a] = -s; sind[b] = s;
        }
        for (size_t h = 0; h < heads; h++) k->rope_row(x + (t * heads + h) * head_dim, cosd, sind, rot_dims, layout);
    }
    tern_scratch_release(TERN_SCRATCH_ROPE, inv_freq);
    return TERN_FV_OK;
}

int tern_activate(tern_float_variant variant, tern_ffn_activation act, const float *x, size_t n,
                  float *y) {
    const tern_float_kernels *k = tern_float_kernels_for(variant);
    if (!k) return TERN_FV_UNSUPPORTED;
    k->activate(act, x, n, y);
    return TERN_FV_OK;
}

int tern_gated(tern_float_variant variant, tern_ffn_activation act, const float *gate,
               const float *up, size_t n, float *y) {
    const tern_float_kernels *k = tern_float_kernels_for(variant);
    if (!k) return TERN_FV_UNSUPPORTED;
    k->gated(act, gate, up, n, y);
    return TERN_FV_OK;
}
