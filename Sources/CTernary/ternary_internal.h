#ifndef TERN_TERNARY_INTERNAL_H
#define TERN_TERNARY_INTERNAL_H
// Shared between the ternary kernel files (not part of the public headers).
#include "tern_ternary.h"
#include <string.h>

/// Rows that one GEMM task decodes into int8 codes and reuses across every token.
#define TERN_GEMM_ROW_BLOCK 16

/// The per-variant pieces the dispatcher (ternary_dispatch.c) runs on the pool.
typedef struct {
    /// out[i] = dot(codes of row r0+i, q) for i < n (codes 0..2: the caller subtracts sum q).
    void (*gemv_rows)(const tern_t5_matrix *w, const int8_t *q, size_t r0, size_t n, int32_t *out);
    /// Integer dots of TERN_GEMM_ROW_BLOCK rows of unpacked codes (row stride `kp`) with
    /// every token of x: out[t*TERN_GEMM_ROW_BLOCK + i].
    void (*gemm_block)(const uint8_t *codes, size_t kp, const tern_activations *x, int32_t *out);
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

static inline float tern_fp16_to_float(uint16_t h) {
    unsigned sign = (unsigned)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    unsigned bits;
    if (exp == 0x1f) bits = sign | 0x7f800000u | (mant << 13);
    else if (exp != 0) bits = sign | ((exp + 112) << 23) | (mant << 13);
    else if (mant == 0) bits = sign;
    else { // subnormal: normalize
        int e = -1;
        do { mant <<= 1; e++; } while (!(mant & 0x400));
        bits = sign | ((unsigned)(112 - e) << 23) | ((mant & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

#endif
