#ifndef TERN_FLOAT_VARIANTS_H
#define TERN_FLOAT_VARIANTS_H
// Private: the table of row kernels each ISA file provides. float_dispatch.c picks a table
// and does the shape loops, scratch memory and threading, so ISA files hold only math.
#include "tern_float.h"
#include "tern_cpu.h"
#include <math.h>

/// One GEMM call: Y[n×out] = X[n×in] · Wᵀ. xb is X rounded to BF16 (only for kernels that
/// multiply BF16 pairs, else NULL).
typedef struct {
    const float *x;
    const uint16_t *xb;
    const void *w;
    float *y;
    size_t n, in, out;
    tern_float_type wtype;
} tern_gemm_job;

typedef struct {
    /// Y[i][j] for every i < n and j in [j0, j1).
    void (*gemm_cols)(const tern_gemm_job *job, size_t j0, size_t j1);
    /// dst[0..n) = src[0..n) converted from wtype to F32.
    void (*convert_row)(tern_float_type wtype, const void *src, float *dst, size_t n);
    /// dx[r][k] += Σ_o g[r][o] · t[o][k] for r < rows, k < len, o < depth, summing o in
    /// ascending order for each element (the register-blocked core of DX = G·W).
    void (*accumulate_tile)(const float *g, size_t ldg, size_t rows, const float *t, size_t depth,
                            float *dx, size_t ldx, size_t len);
    void (*rmsnorm_row)(const float *x, const float *weight, float eps, size_t d, float *y);
    /// Softmax over x[0..valid) into y, y[valid..cols) = 0. valid >= 1.
    void (*softmax_row)(const float *x, size_t valid, size_t cols, float *y);
    /// x[k] = x[k]·cosd[k] + x[partner(k)]·sind[k] for k < rot, where partner is k^1
    /// (adjacent) or k ± rot/2 (neox); the tables already hold the pair's signs.
    void (*rope_row)(float *x, const float *cosd, const float *sind, size_t rot,
                     tern_rope_layout layout);
    void (*activate)(tern_ffn_activation act, const float *x, size_t n, float *y);
    void (*gated)(tern_ffn_activation act, const float *gate, const float *up, size_t n, float *y);
} tern_float_kernels;

extern const tern_float_kernels tern_float_kernels_scalar;
#if defined(__x86_64__)
extern const tern_float_kernels tern_float_kernels_avx2;
extern const tern_float_kernels tern_float_kernels_avx512;
#endif
#if defined(__aarch64__)
extern const tern_float_kernels tern_float_kernels_neon;
#endif

/// The kernel table for a variant, or NULL when it cannot run here.
const tern_float_kernels *tern_float_kernels_for(tern_float_variant variant);

/// Writes weight row `o`, columns [c0, c0+len), as F32 into dst.
typedef void (*tern_weight_tile_fn)(const void *ctx, size_t o, size_t c0, size_t len, float *dst);
/// DX[n×in] = G[n×out] · W for any weight encoding: tasks own 256-wide column blocks of DX;
/// each loads W in tiles of 32 rows through `load` and accumulates with accumulate_tile.
/// Bit-identical for any thread count.
int tern_gemm_t_tiled(tern_pool *pool, const tern_float_kernels *k, const float *g, size_t n,
                      size_t out, size_t in, float *dx, tern_weight_tile_fn load, const void *ctx);

/// Scalar activations shared by every variant's tail loop.
static inline float tern_silu_scalar(float v) { return v / (1.0f + expf(-v)); }
static inline float tern_relu2_scalar(float v) { return v > 0.0f ? v * v : 0.0f; }
#endif
