// Private: the x86 quantized dot products, written once and compiled twice: by
// quant_avx2.c (u8×s8 products with vpmaddubsw) and quant_avx512.c (AVX-512 VNNI
// vpdpbusd). The includer defines QTGT (the target attribute) and
// `__m256i QDOT(__m256i w_u8, __m256i a_s8)`: 8 int32 lanes, lanes 0-3 summing bytes
// 0-15 and lanes 4-7 bytes 16-31. Weights are unsigned codes <= 63 (or |q8| with the
// sign moved onto the activation), so the int16 pair sums of vpmaddubsw never saturate.
#include <immintrin.h>

QTGT static inline float qhsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

QTGT static inline __m256i load_act(const tern_q8_act *a) { return _mm256_loadu_si256((const __m256i *)a->q); }

/// 32 nibbles of a Q4_0/Q4_1 block (16 bytes) in weight order.
QTGT static inline __m256i unpack_q4(const uint8_t *qs) {
    __m128i v = _mm_loadu_si128((const __m128i *)qs), mask = _mm_set1_epi8(0xF);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), mask), _mm_and_si128(v, mask));
}

/// f16 → f32 with F16C (exact, same bits as the software conversion).
QTGT static inline float f16x(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// Each format's kernel handles NR rows of activations (NR = 1 or 4, a compile-time
// constant after inlining) against one weight row: the weight block is decoded once and
// dotted with every row. A row's operations do not depend on NR, so a row gives the same
// bits whether it is computed alone or in a group of 4 (prefill equals decode).
#define QINLINE QTGT static inline __attribute__((always_inline))

/// Blocks of 32 (Q8_0, Q4_0, Q4_1): two accumulator chains per row (even and odd
/// blocks) so the FMA latency does not serialize the loop.
typedef struct { __m256i w; __m256i sign; float d, m; } qblock32;

QINLINE qblock32 decode32(tern_quant_format f, const uint8_t *wb) {
    qblock32 q;
    q.d = f16x(wb);
    q.m = 0.0f;
    q.sign = _mm256_setzero_si256();
    if (f == TERN_Q8_0) {
        __m256i wq = _mm256_loadu_si256((const __m256i *)(wb + 2));
        q.w = _mm256_sign_epi8(wq, wq);   // |w| as unsigned; the sign moves to the activation
        q.sign = wq;
    } else if (f == TERN_Q4_0) {
        q.w = unpack_q4(wb + 2);
    } else {
        q.w = unpack_q4(wb + 4);
        q.m = f16x(wb + 2);
    }
    return q;
}

/// acc += Σ w·q (int32 lanes) · d_w·d_x; offset += the block's weight-offset term.
QINLINE void accumulate32(tern_quant_format f, const qblock32 *q, const tern_q8_act *ab, __m256 *acc, float *offset) {
    __m256i act = load_act(ab);
    if (f == TERN_Q8_0) act = _mm256_sign_epi8(act, q->sign);
    __m256i s = QDOT(q->w, act);
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(q->d * ab->d), *acc);
    if (f == TERN_Q4_0) *offset += -8.0f * q->d * ab->dsum;
    if (f == TERN_Q4_1) *offset += q->m * ab->dsum;
}

QINLINE void dot32_rows(tern_quant_format f, size_t bytes, const uint8_t *w, const tern_q8_act *a,
                        size_t stride, size_t in, float *out, const int NR) {
    __m256 acc0[4], acc1[4];
    float off0[4], off1[4];
    for (int r = 0; r < NR; r++) { acc0[r] = acc1[r] = _mm256_setzero_ps(); off0[r] = off1[r] = 0.0f; }
    size_t nb = in / 32, b = 0;
    for (; b + 2 <= nb; b += 2) {
        qblock32 q0 = decode32(f, w + b * bytes), q1 = decode32(f, w + (b + 1) * bytes);
        for (int r = 0; r < NR; r++) {
            accumulate32(f, &q0, a + r * stride + b, &acc0[r], &off0[r]);
            accumulate32(f, &q1, a + r * stride + b + 1, &acc1[r], &off1[r]);
        }
    }
    if (b < nb) {
        qblock32 q0 = decode32(f, w + b * bytes);
        for (int r = 0; r < NR; r++) accumulate32(f, &q0, a + r * stride + b, &acc0[r], &off0[r]);
    }
    for (int r = 0; r < NR; r++) out[r] = qhsum(_mm256_add_ps(acc0[r], acc1[r])) + (off0[r] + off1[r]);
}

QINLINE void dot_q4_k_rows(const uint8_t *w, const tern_q8_act *a, size_t stride, size_t in, float *out, const int NR) {
    __m256 acc[4];
    float offset[4];
    for (int r = 0; r < NR; r++) { acc[r] = _mm256_setzero_ps(); offset[r] = 0.0f; }
    const __m256i mask = _mm256_set1_epi8(0xF);
    for (size_t sb = 0; sb < in / 256; sb++, w += Q4_K_BYTES, a += 8) {
        float d = f16x(w), dmin = f16x(w + 2);
        for (int g = 0; g < 4; g++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * g));
            __m256i nib[2] = { _mm256_and_si256(v, mask), _mm256_and_si256(_mm256_srli_epi16(v, 4), mask) };
            for (int h = 0; h < 2; h++) {
                int j = 2 * g + h;
                uint8_t sc, m;
                q4k_scale_min(w + 4, j, &sc, &m);
                float dsc = d * (float)sc, dm = dmin * (float)m;
                for (int r = 0; r < NR; r++) {
                    const tern_q8_act *ab = a + r * stride + j;
                    __m256i s = QDOT(nib[h], load_act(ab));
                    acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(dsc * ab->d), acc[r]);
                    offset[r] -= dm * ab->dsum;
                }
            }
        }
    }
    for (int r = 0; r < NR; r++) out[r] = qhsum(acc[r]) + offset[r];
}

QINLINE void dot_q6_k_rows(const uint8_t *w, const tern_q8_act *a, size_t stride, size_t in, float *out, const int NR) {
    __m256 acc[4];
    float offset[4];
    for (int r = 0; r < NR; r++) { acc[r] = _mm256_setzero_ps(); offset[r] = 0.0f; }
    const __m256i low4 = _mm256_set1_epi8(0xF), low2 = _mm256_set1_epi8(3);
    for (size_t sb = 0; sb < in / 256; sb++, w += Q6_K_BYTES, a += 8) {
        const int8_t *sc = (const int8_t *)(w + 192);
        float d = f16x(w + 208);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
            __m256i hv = _mm256_loadu_si256((const __m256i *)qh);
            for (int q = 0; q < 4; q++) {
                __m256i lo = _mm256_loadu_si256((const __m256i *)(ql + 32 * (q & 1)));
                if (q >> 1) lo = _mm256_srli_epi16(lo, 4);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hv, 2 * q), low2);
                __m256i codes = _mm256_or_si256(_mm256_and_si256(lo, low4), _mm256_slli_epi16(hi, 4));
                int sa = sc[8 * h + 2 * q], sb2 = sc[8 * h + 2 * q + 1];
                for (int r = 0; r < NR; r++) {
                    const tern_q8_act *ab = a + r * stride + 4 * h + q;
                    __m256i s = QDOT(codes, load_act(ab));
                    float scale = d * ab->d;
                    __m256 lane_scale = _mm256_set_m128(_mm_set1_ps(scale * (float)sb2), _mm_set1_ps(scale * (float)sa));
                    acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), lane_scale, acc[r]);
                    offset[r] -= scale * (float)(32 * (sa * ab->sum[0] + sb2 * ab->sum[1]));
                }
            }
        }
    }
    for (int r = 0; r < NR; r++) out[r] = qhsum(acc[r]) + offset[r];
}

#define QKERNELS(NAME, CALL)                                                                 \
    QTGT static float NAME(const uint8_t *w, const tern_q8_act *a, size_t in) {              \
        float out[1];                                                                        \
        CALL(w, a, 0, in, out, 1);                                                           \
        return out[0];                                                                       \
    }                                                                                        \
    QTGT static void NAME##_x4(const uint8_t *w, const tern_q8_act *a, size_t stride, size_t in, float *out) { \
        CALL(w, a, stride, in, out, 4);                                                      \
    }                                                                                        \
    QTGT static void NAME##_x2(const uint8_t *w, const tern_q8_act *a, size_t stride, size_t in, float *out) { \
        CALL(w, a, stride, in, out, 2);                                                      \
    }
#define Q8_0_ROWS(w, a, stride, in, out, NR) dot32_rows(TERN_Q8_0, Q8_0_BYTES, w, a, stride, in, out, NR)
#define Q4_0_ROWS(w, a, stride, in, out, NR) dot32_rows(TERN_Q4_0, Q4_0_BYTES, w, a, stride, in, out, NR)
#define Q4_1_ROWS(w, a, stride, in, out, NR) dot32_rows(TERN_Q4_1, Q4_1_BYTES, w, a, stride, in, out, NR)
QKERNELS(dot_q8_0, Q8_0_ROWS)
QKERNELS(dot_q4_0, Q4_0_ROWS)
QKERNELS(dot_q4_1, Q4_1_ROWS)
QKERNELS(dot_q4_k, dot_q4_k_rows)
QKERNELS(dot_q6_k, dot_q6_k_rows)

#define QUANT_KERNEL_TABLE                                                                   \
    { dot_q8_0, dot_q4_0, dot_q4_1, dot_q4_k, dot_q6_k,                                      \
      dot_q8_0_x4, dot_q4_0_x4, dot_q4_1_x4, dot_q4_k_x4, dot_q6_k_x4,                       \
      dot_q8_0_x2, dot_q4_0_x2, dot_q4_1_x2, dot_q4_k_x2, dot_q6_k_x2 }
