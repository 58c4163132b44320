// AArch64 NEON variant of the quantized dot products: sdot (vdotq_s32) when the compiler
// targets the dot-product extension, widening multiplies otherwise. Block scales are
// applied in float exactly as in the scalar reference.
#include "quant_variants.h"
#if defined(__aarch64__)
#include <arm_neon.h>

/// Σ w[i]·a[i] over 16 int8 lanes.
static inline int32_t dot16(int8x16_t w, int8x16_t a) {
#if defined(__ARM_FEATURE_DOTPROD)
    return vaddvq_s32(vdotq_s32(vdupq_n_s32(0), w, a));
#else
    int16x8_t lo = vmull_s8(vget_low_s8(w), vget_low_s8(a));
    int16x8_t hi = vmull_high_s8(w, a);
    return vaddvq_s32(vaddq_s32(vpaddlq_s16(lo), vpaddlq_s16(hi)));
#endif
}

static inline int8x16_t low_nibbles(uint8x16_t v) { return vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0xF))); }
static inline int8x16_t high_nibbles(uint8x16_t v) { return vreinterpretq_s8_u8(vshrq_n_u8(v, 4)); }

static float dot_q8_0(const uint8_t *w, const tern_q8_act *a, size_t in) {
    float acc = 0.0f;
    for (size_t b = 0; b < in / 32; b++, w += Q8_0_BYTES) {
        int32_t s = dot16(vld1q_s8((const int8_t *)w + 2), vld1q_s8(a[b].q))
                  + dot16(vld1q_s8((const int8_t *)w + 18), vld1q_s8(a[b].q + 16));
        acc += load_f16(w) * a[b].d * (float)s;
    }
    return acc;
}

/// Σ nib·q over a Q4_0 / Q4_1 block's 32 nibbles.
static inline int32_t dot_q4_nibbles(const uint8_t *qs, const tern_q8_act *a) {
    uint8x16_t v = vld1q_u8(qs);
    return dot16(low_nibbles(v), vld1q_s8(a->q)) + dot16(high_nibbles(v), vld1q_s8(a->q + 16));
}

static float dot_q4_0(const uint8_t *w, const tern_q8_act *a, size_t in) {
    float acc = 0.0f;
    for (size_t b = 0; b < in / 32; b++, w += Q4_0_BYTES) {
        int32_t s = dot_q4_nibbles(w + 2, a + b) - 8 * (a[b].sum[0] + a[b].sum[1]);
        acc += load_f16(w) * a[b].d * (float)s;
    }
    return acc;
}

static float dot_q4_1(const uint8_t *w, const tern_q8_act *a, size_t in) {
    float acc = 0.0f;
    for (size_t b = 0; b < in / 32; b++, w += Q4_1_BYTES) {
        int32_t s = dot_q4_nibbles(w + 4, a + b);
        acc += load_f16(w) * a[b].d * (float)s + load_f16(w + 2) * a[b].dsum;
    }
    return acc;
}

static float dot_q4_k(const uint8_t *w, const tern_q8_act *a, size_t in) {
    float acc = 0.0f;
    for (size_t sb = 0; sb < in / 256; sb++, w += Q4_K_BYTES, a += 8) {
        float d = load_f16(w), dmin = load_f16(w + 2);
        for (int j = 0; j < 8; j++) {
            const uint8_t *qs = w + 16 + 32 * (j / 2);
            uint8x16_t v0 = vld1q_u8(qs), v1 = vld1q_u8(qs + 16);
            int8x16_t n0 = (j & 1) ? high_nibbles(v0) : low_nibbles(v0);
            int8x16_t n1 = (j & 1) ? high_nibbles(v1) : low_nibbles(v1);
            int32_t s = dot16(n0, vld1q_s8(a[j].q)) + dot16(n1, vld1q_s8(a[j].q + 16));
            uint8_t sc, m;
            q4k_scale_min(w + 4, j, &sc, &m);
            acc += d * (float)sc * a[j].d * (float)s
                 - dmin * (float)m * a[j].dsum;
        }
    }
    return acc;
}

/// 16 six-bit codes: low 4 bits from ql (low or high nibble), 2 high bits from qh.
static inline int8x16_t q6_codes(const uint8_t *ql, const uint8_t *qh, int q) {
    uint8x16_t lo = vld1q_u8(ql);
    lo = (q >> 1) ? vshrq_n_u8(lo, 4) : vandq_u8(lo, vdupq_n_u8(0xF));
    uint8x16_t hi = vandq_u8(vshlq_u8(vld1q_u8(qh), vdupq_n_s8((int8_t)(-2 * q))), vdupq_n_u8(3));
    return vreinterpretq_s8_u8(vorrq_u8(lo, vshlq_n_u8(hi, 4)));
}

static float dot_q6_k(const uint8_t *w, const tern_q8_act *a, size_t in) {
    float acc = 0.0f;
    for (size_t sb = 0; sb < in / 256; sb++, w += Q6_K_BYTES) {
        const int8_t *sc = (const int8_t *)(w + 192);
        float d = load_f16(w + 208);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
            for (int q = 0; q < 4; q++, a++) {
                const uint8_t *qlq = ql + 32 * (q & 1);
                int32_t lo = dot16(q6_codes(qlq, qh, q), vld1q_s8(a->q)) - 32 * a->sum[0];
                int32_t hi = dot16(q6_codes(qlq + 16, qh + 16, q), vld1q_s8(a->q + 16)) - 32 * a->sum[1];
                int32_t s = sc[8 * h + 2 * q] * lo + sc[8 * h + 2 * q + 1] * hi;
                acc += d * a->d * (float)s;
            }
        }
    }
    return acc;
}

const tern_quant_kernels tern_quant_kernels_neon = {
    dot_q8_0, dot_q4_0, dot_q4_1, dot_q4_k, dot_q6_k, NULL, NULL, NULL, NULL, NULL,
};
#endif
