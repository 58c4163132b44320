// Block sizes, bit-exact dequantization, Q8_0 quantization and activation quantization.
// Dequantization must round exactly like ggml (two separate float operations, never a
// fused multiply-add), so floating-point contraction is switched off in this file.
#include "quant_layout.h"
#include <math.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

size_t tern_quant_block_elements(tern_quant_format format) {
    switch (format) {
    case TERN_Q8_0: case TERN_Q4_0: case TERN_Q4_1: return QK_SMALL;
    case TERN_Q4_K: case TERN_Q6_K: return QK_SUPER;
    default: return 0;
    }
}

size_t tern_quant_block_bytes(tern_quant_format format) {
    switch (format) {
    case TERN_Q8_0: return Q8_0_BYTES;
    case TERN_Q4_0: return Q4_0_BYTES;
    case TERN_Q4_1: return Q4_1_BYTES;
    case TERN_Q4_K: return Q4_K_BYTES;
    case TERN_Q6_K: return Q6_K_BYTES;
    default: return 0;
    }
}

static void dequant_q8_0(const uint8_t *b, float *y) {
    float d = load_f16(b);
    for (int i = 0; i < 32; i++) y[i] = d * (float)(int8_t)b[2 + i];
}

static void dequant_q4_0(const uint8_t *b, float *y) {
    float d = load_f16(b);
    for (int i = 0; i < 16; i++) {
        y[i] = d * (float)((b[2 + i] & 0xF) - 8);
        y[i + 16] = d * (float)((b[2 + i] >> 4) - 8);
    }
}

static void dequant_q4_1(const uint8_t *b, float *y) {
    float d = load_f16(b), m = load_f16(b + 2);
    for (int i = 0; i < 16; i++) {
        y[i] = d * (float)(b[4 + i] & 0xF) + m;
        y[i + 16] = d * (float)(b[4 + i] >> 4) + m;
    }
}

static void dequant_q4_k(const uint8_t *b, float *y) {
    float d = load_f16(b), dmin = load_f16(b + 2);
    const uint8_t *scales = b + 4, *qs = b + 16;
    for (int g = 0; g < 4; g++, qs += 32, y += 64) {
        uint8_t sc, m;
        q4k_scale_min(scales, 2 * g, &sc, &m);
        float d1 = d * (float)sc, m1 = dmin * (float)m;
        q4k_scale_min(scales, 2 * g + 1, &sc, &m);
        float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++) y[l] = d1 * (float)(qs[l] & 0xF) - m1;
        for (int l = 0; l < 32; l++) y[32 + l] = d2 * (float)(qs[l] >> 4) - m2;
    }
}

static void dequant_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = load_f16(b + 208);
    for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, y += 128) {
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * (float)sc[is] * (float)q1;
            y[l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
    }
}

int tern_dequantize(tern_quant_format format, const void *src, float *dst, size_t n) {
    void (*block)(const uint8_t *, float *);
    switch (format) {
    case TERN_Q8_0: block = dequant_q8_0; break;
    case TERN_Q4_0: block = dequant_q4_0; break;
    case TERN_Q4_1: block = dequant_q4_1; break;
    case TERN_Q4_K: block = dequant_q4_k; break;
    case TERN_Q6_K: block = dequant_q6_k; break;
    default: return TERN_FV_UNSUPPORTED;
    }
    size_t qk = tern_quant_block_elements(format), bytes = tern_quant_block_bytes(format);
    for (size_t b = 0; b < n / qk; b++) block((const uint8_t *)src + b * bytes, dst + b * qk);
    return TERN_FV_OK;
}

/// round(v) (halves away from zero, as ggml) clamped to [-127, 127]; NaN becomes 0.
/// Truncation plus a step on the exact remainder instead of a call to roundf: the same
/// value for every one of the 2^32 floats (checked exhaustively), and the loops around it
/// vectorize (re-encoding a 2B model's head took ~0.7 s of roundf calls).
static inline int round_to_int8(float v) {
    if (!(v == v)) return 0;
    v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
    int i = (int)v;
    float rest = v - (float)i;
    return i + (rest >= 0.5f) - (rest <= -0.5f);
}

void tern_quantize_q8_0(const float *src, void *dst, size_t n) {
    uint8_t *out = dst;
    for (size_t b = 0; b < n / 32; b++, src += 32, out += Q8_0_BYTES) {
        float amax = 0.0f;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(src[i]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t dh = tern_f32_to_f16(d);
        memcpy(out, &dh, 2);
        for (int i = 0; i < 32; i++) out[2 + i] = (uint8_t)(int8_t)round_to_int8(src[i] * id);
    }
}

void tern_quantize_q8_act(const float *x, size_t n, tern_q8_act *dst) {
    for (size_t b = 0; b < n / 32; b++, x += 32, dst++) {
        float amax = 0.0f;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[i]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        int s0 = 0, s1 = 0;
        for (int i = 0; i < 32; i++) {
            int q = round_to_int8(x[i] * id);
            dst->q[i] = (int8_t)q;
            if (i < 16) s0 += q; else s1 += q;
        }
        dst->d = d;
        dst->dsum = d * (float)(s0 + s1);
        dst->sum[0] = (int16_t)s0;
        dst->sum[1] = (int16_t)s1;
    }
}
