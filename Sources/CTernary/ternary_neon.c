// ARM NEON variants (AArch64): plain Advanced SIMD (widening multiply-accumulate) and the
// dot-product extension (SDOT). T5 bytes decode with one byte multiply (q*3^j mod 256)
// and two unsigned compares per plane, on 16-byte quarters of a group.
#if defined(__aarch64__)
#include "ternary_internal.h"
#include <arm_neon.h>

#if defined(__clang__)
#define DOTPROD __attribute__((target("dotprod")))
#else
#define DOTPROD __attribute__((target("+dotprod")))
#endif

/// Codes 0..2 of trit j of every byte of v.
static inline int8x16_t plane_codes(uint8x16_t v, int j) {
    uint8x16_t m = vmulq_u8(v, vdupq_n_u8(tern_t5_pow3[j]));
    uint8x16_t minus = vaddq_u8(vcgeq_u8(m, vdupq_n_u8(86)), vcgeq_u8(m, vdupq_n_u8(171)));
    return vnegq_s8(vreinterpretq_s8_u8(minus));
}

/// acc += dot(a, b) per 32-bit lane, plain NEON.
static inline int32x4_t dot_neon(int32x4_t acc, int8x16_t a, int8x16_t b) {
    int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    p = vmlal_s8(p, vget_high_s8(a), vget_high_s8(b)); // codes <= 2: |p| <= 508
    return vpadalq_s16(acc, p);
}

DOTPROD static inline int32x4_t dot_sdot(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }

/// Tokens gemv_tokens takes at once (8 accumulators; the GEMV/GEMM switch stays at
/// TERN_GEMV_MAX_TOKENS: not measured on ARM hardware yet).
#define GEMV_TOKENS_NEON 4

// One body per dot flavour: the macro keeps the two variants identical except for the dot.
#define DEFINE_KERNELS(NAME, ATTR, DOT)                                                              \
    ATTR static void NAME##_gemv_rows(const tern_t5_matrix *w, const int8_t *q, size_t r0, size_t n, int32_t *out) { \
        size_t row_bytes = tern_t5_row_bytes(w->cols), groups = row_bytes / TERN_T5_GROUP_BYTES;      \
        for (size_t i = 0; i < n; i++) {                                                             \
            const uint8_t *row = w->packed + (r0 + i) * row_bytes;                                   \
            int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};     \
            for (size_t g = 0; g < groups; g++)                                                      \
                for (int h = 0; h < 4; h++) {                                                        \
                    uint8x16_t v = vld1q_u8(row + g * TERN_T5_GROUP_BYTES + h * 16);                 \
                    const int8_t *x = q + g * TERN_T5_GROUP + h * 16;                                \
                    for (int j = 0; j < 5; j++) acc[h] = DOT(acc[h], plane_codes(v, j), vld1q_s8(x + j * 64)); \
                }                                                                                    \
            out[i] = vaddvq_s32(vaddq_s32(vaddq_s32(acc[0], acc[1]), vaddq_s32(acc[2], acc[3])));   \
        }                                                                                            \
    }                                                                                                \
    /* gemv_rows for nt <= 4 tokens at once: each plane's codes are decoded once (a byte     \
       multiply, two compares, an add and a negate) for every token, which then costs one dot. */ \
    ATTR static inline __attribute__((always_inline)) void NAME##_gemv_n(const tern_t5_matrix *w, const int8_t *q, size_t stride, \
                                                                         const int nt, size_t r0, size_t n, int32_t *out) { \
        size_t row_bytes = tern_t5_row_bytes(w->cols), groups = row_bytes / TERN_T5_GROUP_BYTES;      \
        for (size_t i = 0; i < n; i++) {                                                             \
            const uint8_t *row = w->packed + (r0 + i) * row_bytes;                                   \
            int32x4_t acc[GEMV_TOKENS_NEON][2];                                                      \
            for (int t = 0; t < nt; t++) acc[t][0] = acc[t][1] = vdupq_n_s32(0);                     \
            for (size_t g = 0; g < groups; g++)                                                      \
                for (int h = 0; h < 4; h++) {                                                        \
                    uint8x16_t v = vld1q_u8(row + g * TERN_T5_GROUP_BYTES + h * 16);                 \
                    const int8_t *x = q + g * TERN_T5_GROUP + h * 16;                                \
                    for (int j = 0; j < 5; j++) {                                                    \
                        int8x16_t codes = plane_codes(v, j);                                         \
                        for (int t = 0; t < nt; t++)                                                 \
                            acc[t][h & 1] = DOT(acc[t][h & 1], codes, vld1q_s8(x + (size_t)t * stride + j * 64)); \
                    }                                                                                \
                }                                                                                    \
            for (int t = 0; t < nt; t++) out[(size_t)t * n + i] = vaddvq_s32(vaddq_s32(acc[t][0], acc[t][1])); \
        }                                                                                            \
    }                                                                                                \
    ATTR static void NAME##_gemv_tokens(const tern_t5_matrix *w, const int8_t *q, size_t stride, size_t tokens, \
                                        size_t r0, size_t n, int32_t *out) {                         \
        switch (tokens) {                                                                            \
        case 1: NAME##_gemv_rows(w, q, r0, n, out); break;                                           \
        case 2: NAME##_gemv_n(w, q, stride, 2, r0, n, out); break;                                   \
        case 3: NAME##_gemv_n(w, q, stride, 3, r0, n, out); break;                                   \
        default: NAME##_gemv_n(w, q, stride, 4, r0, n, out); break;                                  \
        }                                                                                            \
    }                                                                                                \
    ATTR static void NAME##_gemm_block(const tern_t5_matrix *w, size_t r0, const tern_activations *x, uint8_t *codes, int32_t *out) { \
        size_t kp = x->stride;                                                                       \
        tern_t5_unpack_block(w, r0, kp, codes);                                                      \
        for (size_t t = 0; t < x->tokens; t += 4) {                                                  \
            size_t nt = x->tokens - t < 4 ? x->tokens - t : 4;                                       \
            for (size_t r = 0; r < TERN_GEMM_ROW_BLOCK; r += 2) {                                    \
                int32x4_t acc[2][4];                                                                 \
                for (int i = 0; i < 2; i++)                                                          \
                    for (int j = 0; j < 4; j++) acc[i][j] = vdupq_n_s32(0);                          \
                for (size_t k = 0; k < kp; k += 16) {                                                \
                    int8x16_t w0 = vreinterpretq_s8_u8(vld1q_u8(codes + r * kp + k));                \
                    int8x16_t w1 = vreinterpretq_s8_u8(vld1q_u8(codes + (r + 1) * kp + k));          \
                    for (size_t j = 0; j < nt; j++) {                                                \
                        int8x16_t xv = vld1q_s8(x->q + (t + j) * x->stride + k);                     \
                        acc[0][j] = DOT(acc[0][j], w0, xv);                                          \
                        acc[1][j] = DOT(acc[1][j], w1, xv);                                          \
                    }                                                                                \
                }                                                                                    \
                for (size_t j = 0; j < nt; j++)                                                      \
                    for (int i = 0; i < 2; i++)                                                      \
                        out[(t + j) * TERN_GEMM_ROW_BLOCK + r + (size_t)i] = vaddvq_s32(acc[i][j]);  \
            }                                                                                        \
        }                                                                                            \
    }                                                                                                \
    ATTR static int32_t NAME##_tq2_block_dot(const uint8_t *qs, const int8_t *x) {                   \
        int32x4_t acc = vdupq_n_s32(0);                                                              \
        for (int c = 0; c < 2; c++)                                                                  \
            for (int half = 0; half < 2; half++) {                                                   \
                uint8x16_t v = vld1q_u8(qs + c * 32 + half * 16);                                    \
                for (int n = 0; n < 4; n++) {                                                        \
                    int8x16_t codes = vreinterpretq_s8_u8(vandq_u8(vshlq_u8(v, vdupq_n_s8((int8_t)(-2 * n))), vdupq_n_u8(3))); \
                    acc = DOT(acc, codes, vld1q_s8(x + c * 128 + n * 32 + half * 16));              \
                }                                                                                    \
            }                                                                                        \
        return vaddvq_s32(acc);                                                                      \
    }                                                                                                \
    const tern_ternary_kernels tern_ternary_##NAME = {NAME##_gemv_rows, NAME##_gemv_tokens, GEMV_TOKENS_NEON, 0, \
                                                      NAME##_gemm_block, NAME##_tq2_block_dot};

DEFINE_KERNELS(neon, , dot_neon)
DEFINE_KERNELS(neon_dotprod, DOTPROD, dot_sdot)
#endif
