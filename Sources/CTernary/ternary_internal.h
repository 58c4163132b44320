#ifndef TERN_TERNARY_INTERNAL_H
#define TERN_TERNARY_INTERNAL_H
// Shared between the ternary kernel files (not part of the public headers).
#include "tern_ternary.h"
#include <string.h>

/// Rows that one GEMM task decodes into int8 codes and reuses across every token.
#define TERN_GEMM_ROW_BLOCK 32

/// Up to this many tokens the product decodes weights on the fly (GEMV kernel, a few
/// tokens at a time, each 32-row chunk staying in L1 while every token group passes over
/// it); beyond it, rows are unpacked once into int8 tiles (GEMM kernel), whose unpacking
/// costs as much as ~12 tokens of GEMV. Measured on 2B (2 threads, Zen 4, pp tokens/s):
/// GEMV 78 / 85 / 93 / 91 at 4 / 8 / 12 / 16 tokens, GEMM 43 / 69 / — / 102 (serving decodes
/// up to ServingDefaults.maxSequences streams per pass, so this is its batch-size range).
/// A variant whose GEMV takes many tokens at once sets its own (gemv_max_tokens).
#define TERN_GEMV_MAX_TOKENS 12
/// Tokens one gemv_tokens call takes at most, unless the variant says more (gemv_group).
#define TERN_GEMV_TOKENS 3
/// The most any variant's gemv_tokens takes at once (the dispatcher's buffer).
#define TERN_GEMV_GROUP_MAX 8

/// The per-variant pieces the dispatcher (ternary_dispatch.c) runs on the pool.
typedef struct {
    /// out[i] = dot(codes of row r0+i, q) for i < n (codes 0..2: the caller subtracts sum q).
    void (*gemv_rows)(const tern_t5_matrix *w, const int8_t *q, size_t r0, size_t n, int32_t *out);
    /// Optional (NULL = gemv_rows once per token): the same for `tokens` <= TERN_GEMV_TOKENS
    /// tokens at once (rows of `stride` bytes), decoding each weight byte once for all of
    /// them: out[t*n + i].
    void (*gemv_tokens)(const tern_t5_matrix *w, const int8_t *q, size_t stride, size_t tokens,
                        size_t r0, size_t n, int32_t *out);
    /// Tokens gemv_tokens takes at once: 0 means TERN_GEMV_TOKENS; at most TERN_GEMV_GROUP_MAX.
    size_t gemv_group;
    /// Products of up to this many tokens take the GEMV path: 0 means TERN_GEMV_MAX_TOKENS.
    size_t gemv_max_tokens;
    /// Integer dots of rows r0 .. r0+TERN_GEMM_ROW_BLOCK-1 (rows past the end count as zero)
    /// with every token of x: out[t*TERN_GEMM_ROW_BLOCK + i]. The rows are unpacked once
    /// into `scratch` (TERN_GEMM_ROW_BLOCK * x->stride bytes, 64-aligned) in whatever tile
    /// layout the variant's micro-kernel wants, then reused for every token.
    void (*gemm_block)(const tern_t5_matrix *w, size_t r0, const tern_activations *x, uint8_t *scratch, int32_t *out);
    /// TQ2_0 direct: integer dot of one 256-weight block (64 code bytes) with 256 int8
    /// activations, codes taken as 0..2.
    int32_t (*tq2_block_dot)(const uint8_t *qs, const int8_t *x);
} tern_ternary_kernels;

extern const tern_ternary_kernels tern_ternary_scalar;
#if defined(__x86_64__)
extern const tern_ternary_kernels tern_ternary_avx2;
extern const tern_ternary_kernels tern_ternary_avx512vnni;
#endif
#if defined(__aarch64__)
extern const tern_ternary_kernels tern_ternary_neon;
extern const tern_ternary_kernels tern_ternary_neon_dotprod;
#endif

/// Unpacks rows r0 .. r0+TERN_GEMM_ROW_BLOCK-1 into row-major codes with row stride kp
/// (>= padded cols); missing rows and columns get code 1 (weight 0).
void tern_t5_unpack_block(const tern_t5_matrix *w, size_t r0, size_t kp, uint8_t *codes);

/// T5 byte whose five trits are all code 1 (weight 0): ceil(121*256/243).
#define TERN_T5_ZERO_BYTE 128

/// The single rounding of an integer dot into the float result, shared by every variant
/// so that all of them produce identical bits.
static inline float tern_dequantize_dot(int32_t dot_codes, int32_t sum_q, float row_scale, float dequant) {
    return ((float)(dot_codes - sum_q) * row_scale) * dequant;
}

/// Multipliers 3^j mod 256 that bring trit j of a T5 byte to the top.
static const uint8_t tern_t5_pow3[5] = {1, 3, 9, 27, 81};

static inline uint8_t tern_t5_trit(uint8_t q, int j) {
    uint8_t m = (uint8_t)(q * tern_t5_pow3[j]);
    return (uint8_t)(((unsigned)m * 3) >> 8);
}

#include "float_half.h" // tern_half_to_float: one exact fp16 decoder for every kernel

#endif
