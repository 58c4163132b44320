// AVX2 variant (x86-64 with AVX2). Same decode as the AVX-512 file on 32-byte halves of a
// T5 group (unsigned >= via max+cmpeq); VPMADDUBSW multiplies codes 0..2 with int8
// activations into int16 (at most 508 per lane, so ten of them add up without overflow).
#if defined(__x86_64__)
#include "ternary_internal.h"
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __m256i ge_u8(__m256i m, __m256i threshold) {
    return _mm256_cmpeq_epi8(_mm256_max_epu8(m, threshold), m);
}

/// Codes 0..2 of the trit at the top of every byte of m.
AVX2 static inline __m256i plane_codes(__m256i m) {
    __m256i minus = _mm256_add_epi8(ge_u8(m, _mm256_set1_epi8(86)), ge_u8(m, _mm256_set1_epi8((char)171)));
    return _mm256_sub_epi8(_mm256_setzero_si256(), minus);
}

AVX2 static inline __m256i times3(__m256i m) { return _mm256_add_epi8(_mm256_add_epi8(m, m), m); }

AVX2 static inline int32_t hsum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

AVX2 static void gemv_rows(const tern_t5_matrix *w, const int8_t *q, size_t r0, size_t n, int32_t *out) {
    size_t row_bytes = tern_t5_row_bytes(w->cols), groups = row_bytes / TERN_T5_GROUP_BYTES;
    const __m256i ones16 = _mm256_set1_epi16(1);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *row = w->packed + (r0 + i) * row_bytes;
        __m256i acc = _mm256_setzero_si256();
        for (size_t g = 0; g < groups; g++) {
            __m256i sum16 = _mm256_setzero_si256();
            for (int h = 0; h < 2; h++) {
                const int8_t *x = q + g * TERN_T5_GROUP + h * 32;
                __m256i m = _mm256_loadu_si256((const void *)(row + g * TERN_T5_GROUP_BYTES + h * 32));
                for (int j = 0; j < 5; j++) {
                    if (j) m = times3(m);
                    __m256i xv = _mm256_loadu_si256((const void *)(x + j * 64));
                    sum16 = _mm256_add_epi16(sum16, _mm256_maddubs_epi16(plane_codes(m), xv));
                }
            }
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(sum16, ones16));
        }
        out[i] = hsum(acc);
    }
}

/// Tokens gemv_tokens takes at once: each row's codes are decoded once for all of them.
#define GEMV_TOKENS_AVX2 4

/// gemv_rows for nt tokens (rows of `stride` bytes) at once: the decode (times3, two
/// compares and two adds per plane) is shared by every token, which then costs one
/// VPMADDUBSW and one add per plane: out[t*n + i].
AVX2 static inline __attribute__((always_inline)) void gemv_tokens_n(const tern_t5_matrix *w, const int8_t *q, size_t stride, const int nt,
                                                                     size_t r0, size_t n, int32_t *out) {
    size_t row_bytes = tern_t5_row_bytes(w->cols), groups = row_bytes / TERN_T5_GROUP_BYTES;
    const __m256i ones16 = _mm256_set1_epi16(1);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *row = w->packed + (r0 + i) * row_bytes;
        __m256i acc[GEMV_TOKENS_AVX2];
        for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_si256();
        for (size_t g = 0; g < groups; g++) {
            __m256i sum16[GEMV_TOKENS_AVX2];
            for (int t = 0; t < nt; t++) sum16[t] = _mm256_setzero_si256();
            for (int h = 0; h < 2; h++) {
                __m256i m = _mm256_loadu_si256((const void *)(row + g * TERN_T5_GROUP_BYTES + h * 32));
                for (int j = 0; j < 5; j++) {
                    if (j) m = times3(m);
                    __m256i codes = plane_codes(m);
                    for (int t = 0; t < nt; t++) {
                        __m256i xv = _mm256_loadu_si256((const void *)(q + (size_t)t * stride + g * TERN_T5_GROUP + h * 32 + j * 64));
                        sum16[t] = _mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(codes, xv));
                    }
                }
            }
            for (int t = 0; t < nt; t++) acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(sum16[t], ones16));
        }
        for (int t = 0; t < nt; t++) out[(size_t)t * n + i] = hsum(acc[t]);
    }
}

AVX2 static void gemv_tokens(const tern_t5_matrix *w, const int8_t *q, size_t stride, size_t tokens,
                             size_t r0, size_t n, int32_t *out) {
    switch (tokens) {
    case 1: gemv_rows(w, q, r0, n, out); break;
    case 2: gemv_tokens_n(w, q, stride, 2, r0, n, out); break;
    case 3: gemv_tokens_n(w, q, stride, 3, r0, n, out); break;
    default: gemv_tokens_n(w, q, stride, 4, r0, n, out); break;
    }
}

/// 2 rows x 4 tokens of int8 codes against int8 activations over kp columns.
AVX2 static void micro_2x4(const uint8_t *codes, size_t kp, const int8_t *x, size_t stride, size_t tokens, int32_t *out) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256i acc[2][4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm256_setzero_si256();
    for (size_t k = 0; k < kp; k += 32) {
        __m256i w0 = _mm256_loadu_si256((const void *)(codes + k));
        __m256i w1 = _mm256_loadu_si256((const void *)(codes + kp + k));
        for (size_t j = 0; j < tokens; j++) {
            __m256i xv = _mm256_loadu_si256((const void *)(x + j * stride + k));
            acc[0][j] = _mm256_add_epi32(acc[0][j], _mm256_madd_epi16(_mm256_maddubs_epi16(w0, xv), ones16));
            acc[1][j] = _mm256_add_epi32(acc[1][j], _mm256_madd_epi16(_mm256_maddubs_epi16(w1, xv), ones16));
        }
    }
    for (size_t j = 0; j < tokens; j++)
        for (int i = 0; i < 2; i++) out[j * TERN_GEMM_ROW_BLOCK + (size_t)i] = hsum(acc[i][j]);
}

AVX2 static void gemm_block(const tern_t5_matrix *w, size_t r0, const tern_activations *x, uint8_t *codes, int32_t *out) {
    size_t kp = x->stride;
    tern_t5_unpack_block(w, r0, kp, codes);
    for (size_t t = 0; t < x->tokens; t += 4) {
        size_t nt = x->tokens - t < 4 ? x->tokens - t : 4;
        for (size_t r = 0; r < TERN_GEMM_ROW_BLOCK; r += 2)
            micro_2x4(codes + r * kp, kp, x->q + t * x->stride, x->stride, nt, out + t * TERN_GEMM_ROW_BLOCK + r);
    }
}

AVX2 static int32_t tq2_block_dot(const uint8_t *qs, const int8_t *x) {
    const __m256i three = _mm256_set1_epi8(3);
    __m256i sum16 = _mm256_setzero_si256();
    for (int c = 0; c < 2; c++) {
        __m256i v = _mm256_loadu_si256((const void *)(qs + c * 32));
        for (int n = 0; n < 4; n++) {
            __m256i codes = _mm256_and_si256(_mm256_srli_epi16(v, 2 * n), three);
            __m256i xv = _mm256_loadu_si256((const void *)(x + c * 128 + n * 32));
            sum16 = _mm256_add_epi16(sum16, _mm256_maddubs_epi16(codes, xv));
        }
    }
    return hsum(_mm256_madd_epi16(sum16, _mm256_set1_epi16(1)));
}

/// With the decode shared by 4 tokens the GEMV runs at ~320 GOPS from 4 tokens on (2 threads,
/// Zen 4 with the AVX2 variant forced; before: 139 GOPS at 2-12 tokens, one token at a time),
/// ahead of this file's GEMM at every size a serving pass has (228 / 254 / 272-280 GOPS at
/// 16 / 32 / 64 tokens): products of up to 64 tokens take the GEMV path.
#define GEMV_MAX_TOKENS_AVX2 64

const tern_ternary_kernels tern_ternary_avx2 = {
    gemv_rows, gemv_tokens, GEMV_TOKENS_AVX2, GEMV_MAX_TOKENS_AVX2, gemm_block, tq2_block_dot };
#endif
