// Scalar reference of the quantized dot products: exact integer sums per block of 32,
// block scales applied in float in block order.
#include "quant_variants.h"

static int32_t dot32_u8(const uint8_t *w, const int8_t *a, int len) {
    int32_t s = 0;
    for (int i = 0; i < len; i++) s += (int32_t)w[i] * a[i];
    return s;
}

static float dot_q8_0(const uint8_t *w, const tern_q8_act *a, size_t in) {
    float acc = 0.0f;
    for (size_t b = 0; b < in / 32; b++, w += Q8_0_BYTES) {
        int32_t s = 0;
        for (int i = 0; i < 32; i++) s += (int32_t)(int8_t)w[2 + i] * a[b].q[i];
        acc += load_f16(w) * a[b].d * (float)s;
    }
    return acc;
}

/// The 32 nibbles of a Q4_0/Q4_1 block in weight order.
static void unpack_q4(const uint8_t *qs, uint8_t *nib) {
    for (int i = 0; i < 16; i++) { nib[i] = qs[i] & 0xF; nib[i + 16] = qs[i] >> 4; }
}

static float dot_q4_0(const uint8_t *w, const tern_q8_act *a, size_t in) {
    float acc = 0.0f;
    uint8_t nib[32];
    for (size_t b = 0; b < in / 32; b++, w += Q4_0_BYTES) {
        unpack_q4(w + 2, nib);
        int32_t s = dot32_u8(nib, a[b].q, 32) - 8 * (a[b].sum[0] + a[b].sum[1]);
        acc += load_f16(w) * a[b].d * (float)s;
    }
    return acc;
}

static float dot_q4_1(const uint8_t *w, const tern_q8_act *a, size_t in) {
    float acc = 0.0f;
    uint8_t nib[32];
    for (size_t b = 0; b < in / 32; b++, w += Q4_1_BYTES) {
        unpack_q4(w + 4, nib);
        int32_t s = dot32_u8(nib, a[b].q, 32);
        acc += load_f16(w) * a[b].d * (float)s + load_f16(w + 2) * a[b].dsum;
    }
    return acc;
}

static float dot_q4_k(const uint8_t *w, const tern_q8_act *a, size_t in) {
    float acc = 0.0f;
    uint8_t nib[32];
    for (size_t sb = 0; sb < in / 256; sb++, w += Q4_K_BYTES, a += 8) {
        float d = load_f16(w), dmin = load_f16(w + 2);
        for (int j = 0; j < 8; j++) {
            const uint8_t *qs = w + 16 + 32 * (j / 2);
            for (int l = 0; l < 32; l++) nib[l] = (j & 1) ? qs[l] >> 4 : qs[l] & 0xF;
            uint8_t sc, m;
            q4k_scale_min(w + 4, j, &sc, &m);
            acc += d * (float)sc * a[j].d * (float)dot32_u8(nib, a[j].q, 32)
                 - dmin * (float)m * a[j].dsum;
        }
    }
    return acc;
}

/// Weights 32q..32q+31 of one 128-half of a Q6_K block, as unsigned 6-bit codes.
static void unpack_q6(const uint8_t *ql, const uint8_t *qh, int q, uint8_t *codes) {
    for (int l = 0; l < 32; l++) {
        uint8_t lo = ql[l + 32 * (q & 1)];
        lo = (q >> 1) ? lo >> 4 : lo & 0xF;
        codes[l] = (uint8_t)(lo | (((qh[l] >> (2 * q)) & 3) << 4));
    }
}

static float dot_q6_k(const uint8_t *w, const tern_q8_act *a, size_t in) {
    float acc = 0.0f;
    uint8_t codes[32];
    for (size_t sb = 0; sb < in / 256; sb++, w += Q6_K_BYTES) {
        const int8_t *sc = (const int8_t *)(w + 192);
        float d = load_f16(w + 208);
        for (int h = 0; h < 2; h++) {
            for (int q = 0; q < 4; q++, a++) {
                unpack_q6(w + 64 * h, w + 128 + 32 * h, q, codes);
                int32_t lo = dot32_u8(codes, a->q, 16) - 32 * a->sum[0];
                int32_t hi = dot32_u8(codes + 16, a->q + 16, 16) - 32 * a->sum[1];
                int32_t s = sc[8 * h + 2 * q] * lo + sc[8 * h + 2 * q + 1] * hi;
                acc += d * a->d * (float)s;
            }
        }
    }
    return acc;
}

const tern_quant_kernels tern_quant_kernels_scalar = {
    dot_q8_0, dot_q4_0, dot_q4_1, dot_q4_k, dot_q6_k, NULL, NULL, NULL, NULL, NULL,
};
