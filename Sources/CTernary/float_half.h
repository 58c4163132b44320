#ifndef TERN_FLOAT_HALF_H
#define TERN_FLOAT_HALF_H
// Private: IEEE half / bfloat16 -> float as inline functions, so kernels that read one f16 scale
// per block (the quantized formats) do not pay a call. Exact, so every platform and the
// F16C / FP16 hardware conversions give the same bits.
#include <stdint.h>
#include <string.h>

static inline float tern_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);          // inf / NaN
    } else if (exp == 0) {
        if (man == 0) bits = sign;
        else {                                            // subnormal: man · 2^-24, exact
            float v = (float)man * 5.9604644775390625e-8f;
            memcpy(&bits, &v, 4);
            bits |= sign;
        }
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float tern_bfloat_to_float(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
#endif
