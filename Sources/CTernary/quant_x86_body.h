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

/// Σ over blocks of 32 with two independent accumulator chains (even and odd blocks):
/// `BLOCK(w, a)` yields the block's int32 lanes `s`, float scale `scale` and scalar offset
/// `off`, which are summed as acc += s·scale, offset += off.
#define QDOT_BLOCKS(BYTES, BLOCK)                                                          \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                         \
    float offset0 = 0.0f, offset1 = 0.0f;                                                  \
    size_t nb = in / 32, b = 0;                                                            \
    for (; b + 2 <= nb; b += 2) {                                                          \
        { BLOCK(w + b * (BYTES), a + b)                                                    \
          acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(scale), acc0);       \
          offset0 += off; }                                                                \
        { BLOCK(w + (b + 1) * (BYTES), a + b + 1)                                          \
          acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(scale), acc1);       \
          offset1 += off; }                                                                \
    }                                                                                      \
    if (b < nb) {                                                                          \
        BLOCK(w + b * (BYTES), a + b)                                                      \
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(scale), acc0);         \
        offset0 += off;                                                                    \
    }                                                                                      \
    return qhsum(_mm256_add_ps(acc0, acc1)) + (offset0 + offset1);

#define Q8_0_BLOCK(wb, ab)                                                                 \
    __m256i wq = _mm256_loadu_si256((const __m256i *)((wb) + 2));                          \
    __m256i s = QDOT(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(load_act(ab), wq));        \
    float scale = f16x(wb) * (ab)->d, off = 0.0f;

#define Q4_0_BLOCK(wb, ab)                                                                 \
    __m256i s = QDOT(unpack_q4((wb) + 2), load_act(ab));                                   \
    float scale = f16x(wb) * (ab)->d, off = -8.0f * f16x(wb) * (ab)->dsum;

#define Q4_1_BLOCK(wb, ab)                                                                 \
    __m256i s = QDOT(unpack_q4((wb) + 4), load_act(ab));                                   \
    float scale = f16x(wb) * (ab)->d;                                                      \
    float off = f16x((wb) + 2) * (ab)->dsum;

QTGT static float dot_q8_0(const uint8_t *w, const tern_q8_act *a, size_t in) { QDOT_BLOCKS(Q8_0_BYTES, Q8_0_BLOCK) }
QTGT static float dot_q4_0(const uint8_t *w, const tern_q8_act *a, size_t in) { QDOT_BLOCKS(Q4_0_BYTES, Q4_0_BLOCK) }
QTGT static float dot_q4_1(const uint8_t *w, const tern_q8_act *a, size_t in) { QDOT_BLOCKS(Q4_1_BYTES, Q4_1_BLOCK) }

QTGT static float dot_q4_k(const uint8_t *w, const tern_q8_act *a, size_t in) {
    __m256 acc = _mm256_setzero_ps();
    float offset = 0.0f;
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
                __m256i s = QDOT(nib[h], load_act(a + j));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * (float)sc * a[j].d), acc);
                offset -= dmin * (float)m * a[j].dsum;
            }
        }
    }
    return qhsum(acc) + offset;
}

QTGT static float dot_q6_k(const uint8_t *w, const tern_q8_act *a, size_t in) {
    __m256 acc = _mm256_setzero_ps();
    float offset = 0.0f;
    const __m256i low4 = _mm256_set1_epi8(0xF), low2 = _mm256_set1_epi8(3);
    for (size_t sb = 0; sb < in / 256; sb++, w += Q6_K_BYTES) {
        const int8_t *sc = (const int8_t *)(w + 192);
        float d = f16x(w + 208);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
            __m256i hv = _mm256_loadu_si256((const __m256i *)qh);
            for (int q = 0; q < 4; q++, a++) {
                __m256i lo = _mm256_loadu_si256((const __m256i *)(ql + 32 * (q & 1)));
                if (q >> 1) lo = _mm256_srli_epi16(lo, 4);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hv, 2 * q), low2);
                __m256i codes = _mm256_or_si256(_mm256_and_si256(lo, low4), _mm256_slli_epi16(hi, 4));
                __m256i s = QDOT(codes, load_act(a));
                float s0 = (float)sc[8 * h + 2 * q], s1 = (float)sc[8 * h + 2 * q + 1], scale = d * a->d;
                __m256 lane_scale = _mm256_set_m128(_mm_set1_ps(scale * s1), _mm_set1_ps(scale * s0));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), lane_scale, acc);
                offset -= scale * (float)(32 * (sc[8 * h + 2 * q] * a->sum[0] + sc[8 * h + 2 * q + 1] * a->sum[1]));
            }
        }
    }
    return qhsum(acc) + offset;
}
