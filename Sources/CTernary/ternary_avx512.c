// AVX-512 VNNI variant (x86-64: AVX512F/BW/VL + VNNI). T5 bytes are decoded with byte
// adds (q*3^j mod 256) and two unsigned compares per plane, then VPDPBUSD multiplies the
// unsigned codes 0..2 with the signed int8 activations (the caller subtracts sum q).
#if defined(__x86_64__)
#include "ternary_internal.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/// Codes 0..2 of the trit held at the top of every byte of m: (m >= 86) + (m >= 171).
AVX512 static inline __m512i plane_codes(__m512i m) {
    const __m512i one = _mm512_set1_epi8(1);
    __mmask64 ge1 = _mm512_cmpge_epu8_mask(m, _mm512_set1_epi8(86));
    __mmask64 ge2 = _mm512_cmpge_epu8_mask(m, _mm512_set1_epi8((char)171));
    __m512i c = _mm512_maskz_mov_epi8(ge1, one);
    return _mm512_mask_add_epi8(c, ge2, c, one);
}

AVX512 static inline __m512i times3(__m512i m) { return _mm512_add_epi8(_mm512_add_epi8(m, m), m); }

AVX512 static void gemv_rows(const tern_t5_matrix *w, const int8_t *q, size_t r0, size_t n, int32_t *out) {
    size_t row_bytes = tern_t5_row_bytes(w->cols), groups = row_bytes / TERN_T5_GROUP_BYTES;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *row = w->packed + (r0 + i) * row_bytes;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
        for (size_t g = 0; g < groups; g++) {
            const int8_t *x = q + g * TERN_T5_GROUP;
            __m512i m = _mm512_loadu_si512(row + g * TERN_T5_GROUP_BYTES);
            a0 = _mm512_dpbusd_epi32(a0, plane_codes(m), _mm512_loadu_si512(x));
            m = times3(m);
            a1 = _mm512_dpbusd_epi32(a1, plane_codes(m), _mm512_loadu_si512(x + 64));
            m = times3(m);
            a2 = _mm512_dpbusd_epi32(a2, plane_codes(m), _mm512_loadu_si512(x + 128));
            m = times3(m);
            a3 = _mm512_dpbusd_epi32(a3, plane_codes(m), _mm512_loadu_si512(x + 192));
            m = times3(m);
            a4 = _mm512_dpbusd_epi32(a4, plane_codes(m), _mm512_loadu_si512(x + 256));
        }
        __m512i s = _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(_mm512_add_epi32(a2, a3), a4));
        out[i] = _mm512_reduce_add_epi32(s);
    }
}

/// 4 rows x 4 tokens of int8 codes against int8 activations over kp columns.
AVX512 static void micro_4x4(const uint8_t *codes, size_t kp, const int8_t *x, size_t stride, int32_t *out) {
    __m512i acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_si512();
    for (size_t k = 0; k < kp; k += 64) {
        __m512i wv[4], xv[4];
        for (int i = 0; i < 4; i++) wv[i] = _mm512_loadu_si512(codes + i * kp + k);
        for (int j = 0; j < 4; j++) xv[j] = _mm512_loadu_si512(x + j * stride + k);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], wv[i], xv[j]);
    }
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 4; i++) out[j * TERN_GEMM_ROW_BLOCK + i] = _mm512_reduce_add_epi32(acc[i][j]);
}

AVX512 static void micro_4x1(const uint8_t *codes, size_t kp, const int8_t *x, int32_t *out) {
    __m512i acc[4];
    for (int i = 0; i < 4; i++) acc[i] = _mm512_setzero_si512();
    for (size_t k = 0; k < kp; k += 64) {
        __m512i xv = _mm512_loadu_si512(x + k);
        for (int i = 0; i < 4; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], _mm512_loadu_si512(codes + i * kp + k), xv);
    }
    for (int i = 0; i < 4; i++) out[i] = _mm512_reduce_add_epi32(acc[i]);
}

AVX512 static void gemm_block(const uint8_t *codes, size_t kp, const tern_activations *x, int32_t *out) {
    size_t t = 0;
    for (; t + 4 <= x->tokens; t += 4)
        for (size_t r = 0; r < TERN_GEMM_ROW_BLOCK; r += 4)
            micro_4x4(codes + r * kp, kp, x->q + t * x->stride, x->stride, out + t * TERN_GEMM_ROW_BLOCK + r);
    for (; t < x->tokens; t++)
        for (size_t r = 0; r < TERN_GEMM_ROW_BLOCK; r += 4)
            micro_4x1(codes + r * kp, kp, x->q + t * x->stride, out + t * TERN_GEMM_ROW_BLOCK + r);
}

AVX512 static int32_t tq2_block_dot(const uint8_t *qs, const int8_t *x) {
    const __m512i three = _mm512_set1_epi8(3);
    __m512i v = _mm512_loadu_si512(qs), acc = _mm512_setzero_si512();
    for (int n = 0; n < 4; n++) {
        __m512i c = _mm512_and_si512(_mm512_srli_epi16(v, 2 * n), three);
        __m512i xv = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const void *)(x + n * 32))),
                                        _mm256_loadu_si256((const void *)(x + 128 + n * 32)), 1);
        acc = _mm512_dpbusd_epi32(acc, c, xv);
    }
    return _mm512_reduce_add_epi32(acc);
}

const tern_ternary_kernels tern_ternary_avx512vnni = { gemv_rows, gemm_block, tq2_block_dot };
#endif
