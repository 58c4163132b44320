#ifndef TERN_QUANT_H
#define TERN_QUANT_H
// Block-quantized weight formats of GGUF models (ggml Q8_0, Q4_0, Q4_1, Q4_K, Q6_K):
// bit-exact dequantization, F32 → Q8_0 quantization, and the int8 matmul that runs a
// forward pass straight from the quantized bytes: activations are quantized to int8
// blocks of 32 (tern_q8_act, scaled per 32 or per 256 as ggml's Q8_1 / Q8_K), each
// weight block is dotted in integers, and the block scales are applied in float. The
// transposed product (backprop through frozen weights) dequantizes one tile of a row at a
// time, never the whole matrix.
// Variants and return codes are those of tern_float.h (AVX-512 here means AVX-512 VNNI).
#include <stddef.h>
#include <stdint.h>
#include "tern_float.h"
#include "tern_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Values are the ggml type ids.
typedef enum {
    TERN_Q4_0 = 2, TERN_Q4_1 = 3, TERN_Q8_0 = 8, TERN_Q4_K = 12, TERN_Q6_K = 14,
} tern_quant_format;

/// Weights per block (32 or 256), or 0 for an unknown format.
size_t tern_quant_block_elements(tern_quant_format format);
/// Bytes per block (Q8_0 34, Q4_0 18, Q4_1 20, Q4_K 144, Q6_K 210), or 0 when unknown.
size_t tern_quant_block_bytes(tern_quant_format format);

/// dst[0..n) = the n weights stored in src; n is a multiple of the block size. Bit-exact
/// with ggml's dequantize_row_* (and gguf-py's dequantize).
int tern_dequantize(tern_quant_format format, const void *src, float *dst, size_t n);
/// ggml's reference F32 → Q8_0 quantization (d = max|x|/127, q = round(x/d)); n % 32 == 0.
void tern_quantize_q8_0(const float *src, void *dst, size_t n);

/// 32 activations as int8 with a float scale (x ≈ d·q), the sums of q over each half and
/// d·Σq, which the kernels use for the weight offsets (Q4_0's −8, Q4_1's min, …).
typedef struct {
    float d;
    float dsum;
    int16_t sum[2];
    int8_t q[32];
} tern_q8_act;

/// Quantizes n activations into n/32 blocks exactly as ggml does for weights of `format`,
/// so the products round like llama.cpp's: Q8_0/Q4_0/Q4_1 get ggml's Q8_0/Q8_1 blocks
/// (per 32: d = max|x|/127, q = round(x/d), d and d·Σq rounded to fp16); Q4_K/Q6_K get
/// Q8_K (one float scale per 256, shared by its 8 blocks). n is a multiple of the
/// format's block size.
void tern_quantize_q8_act(tern_quant_format format, const float *x, size_t n, tern_q8_act *dst);

/// 1 when the quantized kernels of `variant` can run here (AVX-512 needs VNNI).
int tern_quant_variant_supported(tern_float_variant variant);

/// Y[n×out] = X[n×in] · Wᵀ with W (out×in, row-major, in % block == 0) in `format`.
/// X is quantized to int8 blocks first. Bit-identical for any thread count.
int tern_gemm_q(tern_pool *pool, tern_float_variant variant, tern_quant_format format,
                const float *x, size_t n, size_t in, const void *w, size_t out, float *y);
/// DX[n×in] = G[n×out] · W through quantized W, in float: each task dequantizes one
/// 256-wide tile of a weight row at a time. Bit-identical for any thread count.
int tern_gemm_t_q(tern_pool *pool, tern_float_variant variant, tern_quant_format format,
                  const float *g, size_t n, size_t out, const void *w, size_t in, float *dx);

#ifdef __cplusplus
}
#endif
#endif
