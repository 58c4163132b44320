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

QTGT static float dot_q8_0(const uint8_t *w, const tern_q8_act *a, size_t in) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < in / 32; b++, w += Q8_0_BYTES) {
        __m256i wq = _mm256_loadu_si256((const __m256i *)(w + 2));
        __m256i s = QDOT(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(load_act(a + b), wq));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(load_f16(w) * a[b].d), acc);
    }
    return qhsum(acc);
}

QTGT static float dot_q4_0(const uint8_t *w, const tern_q8_act *a, size_t in) {
    __m256 acc = _mm256_setzero_ps();
    float offset = 0.0f;
    for (size_t b = 0; b < in / 32; b++, w += Q4_0_BYTES) {
        float scale = load_f16(w) * a[b].d;
        __m256i s = QDOT(unpack_q4(w + 2), load_act(a + b));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(scale), acc);
        offset += scale * (float)(-8 * (a[b].sum[0] + a[b].sum[1]));
    }
    return qhsum(acc) + offset;
}

QTGT static float dot_q4_1(const uint8_t *w, const tern_q8_act *a, size_t in) {
    __m256 acc = _mm256_setzero_ps();
    float offset = 0.0f;
    for (size_t b = 0; b < in / 32; b++, w += Q4_1_BYTES) {
        __m256i s = QDOT(unpack_q4(w + 4), load_act(a + b));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(load_f16(w) * a[b].d), acc);
        offset += load_f16(w + 2) * a[b].d * (float)(a[b].sum[0] + a[b].sum[1]);
    }
    return qhsum(acc) + offset;
}

QTGT static float dot_q4_k(const uint8_t *w, const tern_q8_act *a, size_t in) {
    __m256 acc = _mm256_setzero_ps();
    float offset = 0.0f;
    const __m256i mask = _mm256_set1_epi8(0xF);
    for (size_t sb = 0; sb < in / 256; sb++, w += Q4_K_BYTES, a += 8) {
        float d = load_f16(w), dmin = load_f16(w + 2);
        for (int g = 0; g < 4; g++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * g));
            __m256i nib[2] = { _mm256_and_si256(v, mask), _mm256_and_si256(_mm256_srli_epi16(v, 4), mask) };
            for (int h = 0; h < 2; h++) {
                int j = 2 * g + h;
                uint8_t sc, m;
                q4k_scale_min(w + 4, j, &sc, &m);
                __m256i s = QDOT(nib[h], load_act(a + j));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * (float)sc * a[j].d), acc);
                offset -= dmin * (float)m * a[j].d * (float)(a[j].sum[0] + a[j].sum[1]);
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
        float d = load_f16(w + 208);
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
