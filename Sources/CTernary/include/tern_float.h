#ifndef TERN_FLOAT_H
#define TERN_FLOAT_H
// Float operations of the model runtime: F16/BF16 conversion, GEMM with F32/F16/BF16
// weights, RMSNorm, softmax, RoPE and the gated-FFN activations.
//
// Every op has a portable scalar reference and SIMD variants (AVX2+FMA, AVX-512, NEON),
// one file per ISA. Callers pass TERN_FV_AUTO to get the best variant for the running CPU
// (tern_cpu_features()); tests pass a named variant to check it against the reference.
// Functions return 0 on success, TERN_FV_UNSUPPORTED when the requested variant is not
// available on this CPU / build, TERN_FV_NOMEM when scratch memory cannot be allocated.
// Shapes are validated by the Swift layer; the C layer trusts them.
#include <stddef.h>
#include <stdint.h>
#include "tern_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TERN_FV_AUTO = 0,
    TERN_FV_SCALAR = 1,
    TERN_FV_AVX2 = 2,     // AVX2 + FMA + F16C
    TERN_FV_AVX512 = 3,   // AVX-512 F/BW/VL (+ BF16 dot products, + VNNI for int8, when present)
    TERN_FV_NEON = 4,     // AArch64 Advanced SIMD (+ dotprod for int8, when present)
} tern_float_variant;

enum { TERN_FV_OK = 0, TERN_FV_UNSUPPORTED = -1, TERN_FV_NOMEM = -2 };

/// Element type of a float weight matrix (values are the ggml type ids).
typedef enum { TERN_F32 = 0, TERN_F16 = 1, TERN_BF16 = 30 } tern_float_type;

/// 1 when `variant` can run on this CPU and build (TERN_FV_AUTO always can).
int tern_float_variant_supported(tern_float_variant variant);
/// The concrete variant TERN_FV_AUTO resolves to on the calling thread.
tern_float_variant tern_float_variant_best(void);

// ---- conversions (IEEE round-to-nearest-even; NaN stays NaN) ----
float tern_f16_to_f32(uint16_t h);
uint16_t tern_f32_to_f16(float f);
float tern_bf16_to_f32(uint16_t b);
uint16_t tern_f32_to_bf16(float f);
void tern_f16_to_f32_row(const uint16_t *src, float *dst, size_t n);
void tern_f32_to_f16_row(const float *src, uint16_t *dst, size_t n);
void tern_bf16_to_f32_row(const uint16_t *src, float *dst, size_t n);
void tern_f32_to_bf16_row(const float *src, uint16_t *dst, size_t n);

// ---- matrix products; W is row-major out×in as stored in GGUF ----
/// Y[n×out] = X[n×in] · Wᵀ. Work is split over blocks of W rows; bit-identical for any
/// thread count. With BF16 weights the AVX-512 variant uses vdpbf16ps where the CPU has
/// it (and the thread's override allows it, see tern_cpu.h), which rounds X to BF16 first
/// (as ggml does).
int tern_gemm_f(tern_pool *pool, tern_float_variant variant, tern_float_type wtype,
                const float *x, size_t n, size_t in, const void *w, size_t out, float *y);
/// DX[n×in] = G[n×out] · W: the product with the transposed weights, i.e. the gradient
/// with respect to the input of tern_gemm_f. Work is split over column blocks of DX.
int tern_gemm_t_f(tern_pool *pool, tern_float_variant variant, tern_float_type wtype,
                  const float *g, size_t n, size_t out, const void *w, size_t in, float *dx);

/// DX[n×in] += G[n×out] · W for F32 W: continues DX's sums one W row at a time, in order,
/// so splitting W's rows over several calls (attention over KV blocks) gives the bits of
/// one tern_gemm_t_f over all of them.
int tern_gemm_t_acc_f(tern_pool *pool, tern_float_variant variant, const float *g, size_t n,
                      size_t out, const float *w, size_t in, float *dx);

// ---- row operations (x and y may alias) ----
/// y = x / sqrt(mean(x²) + eps) * weight, per row of length d; weight may be NULL.
int tern_rmsnorm(tern_float_variant variant, const float *x, const float *weight, float eps,
                 size_t rows, size_t d, float *y);
/// Numerically stable softmax of each row. causal_offset < 0: no mask; otherwise row i
/// keeps columns [0, i + causal_offset] and the rest become exactly 0 (for a query block
/// that starts at position causal_offset of the key sequence).
int tern_softmax(tern_float_variant variant, const float *x, size_t rows, size_t cols,
                 long causal_offset, float *y);

typedef enum {
    TERN_ROPE_ADJACENT = 0,  // pairs (x0,x1),(x2,x3)… (llama)
    TERN_ROPE_NEOX = 1,      // pairs (x_i, x_{i+d/2}) (neox, bitnet)
} tern_rope_layout;
/// Rotates x[tokens][heads][head_dim] in place: pair i of token t turns by
/// positions[t] · freq_base^(-2i/rot_dims) (the first rot_dims dims rotate, rot_dims even
/// and <= head_dim). inverse != 0 turns the other way (the backward pass).
int tern_rope(tern_float_variant variant, float *x, size_t tokens, size_t heads,
              size_t head_dim, size_t rot_dims, const int32_t *positions, float freq_base,
              tern_rope_layout layout, int inverse);

typedef enum { TERN_ACT_SILU = 0, TERN_ACT_RELU2 = 1 } tern_ffn_activation;
/// y = act(x) elementwise.
int tern_activate(tern_float_variant variant, tern_ffn_activation act, const float *x, size_t n,
                  float *y);
/// y = act(gate) · up elementwise (the gated FFN).
int tern_gated(tern_float_variant variant, tern_ffn_activation act, const float *gate,
               const float *up, size_t n, float *y);

#ifdef __cplusplus
}
#endif
#endif
