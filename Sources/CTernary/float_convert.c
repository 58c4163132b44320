// F16 and BF16 <-> F32 by bit manipulation, so the results are the same on every platform
// and do not depend on F16C / FP16 hardware.
#include "tern_float.h"
#include "float_half.h"
#include <string.h>

static inline uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

float tern_f16_to_f32(uint16_t h) { return tern_half_to_float(h); }

uint16_t tern_f32_to_f16(float f) {
    uint32_t u = bits_of(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t abs = u & 0x7fffffffu;
    if (abs >= 0x7f800000u) // inf or NaN (keep a quiet NaN bit)
        return sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 | ((abs >> 13) & 0x3ff) : 0);
    if (abs >= 0x477ff000u) return sign | 0x7c00; // rounds to >= 65520: overflow to inf
    if (abs < 0x38800000u) {                       // below the smallest normal f16
        if (abs < 0x33000000u) return sign;        // below half the smallest subnormal
        uint32_t exp = abs >> 23, man = (abs & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - exp;                // 14..24
        uint32_t q = man >> shift, rest = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t v = abs - 0x38000000u;                // rebias exponent 127 -> 15
    uint32_t q = v >> 13, rest = v & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (q & 1))) q++;
    return sign | (uint16_t)q;
}

float tern_bf16_to_f32(uint16_t b) { return tern_bfloat_to_float(b); }

uint16_t tern_f32_to_bf16(float f) {
    uint32_t u = bits_of(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); // quiet NaN
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

void tern_f16_to_f32_row(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = tern_half_to_float(src[i]);
}
void tern_f32_to_f16_row(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = tern_f32_to_f16(src[i]);
}
void tern_bf16_to_f32_row(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = tern_bf16_to_f32(src[i]);
}
void tern_f32_to_bf16_row(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = tern_f32_to_bf16(src[i]);
}
