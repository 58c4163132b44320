#ifndef TERN_QUANT_LAYOUT_H
#define TERN_QUANT_LAYOUT_H
// Private: byte layouts of the ggml blocks (ggml-common.h), shared by every quant file.
//   Q8_0 (32):  f16 d | int8 q[32]                                        34 bytes
//   Q4_0 (32):  f16 d | u8 qs[16]  (x_i = d·(nib−8); low nibbles 0..15, high 16..31)  18
//   Q4_1 (32):  f16 d | f16 m | u8 qs[16]  (x_i = d·nib + m)                20 bytes
//   Q4_K (256): f16 d | f16 dmin | u8 scales[12] (8 × 6-bit scale, 6-bit min) | u8 qs[128]
//               64 weights per 32 bytes of qs: low nibbles are sub-block 2g, high 2g+1;
//               x = d·sc·nib − dmin·m                                     144 bytes
//   Q6_K (256): u8 ql[128] | u8 qh[64] | int8 scales[16] | f16 d; two halves of 128, each
//               ql 64 bytes, qh 32 bytes, 8 scales (one per 16 weights); x = d·sc·(q−32) 210
#include "tern_float.h"
#include "tern_quant.h"
#include "float_half.h"
#include <string.h>

enum {
    Q8_0_BYTES = 34, Q4_0_BYTES = 18, Q4_1_BYTES = 20, Q4_K_BYTES = 144, Q6_K_BYTES = 210,
    QK_SMALL = 32, QK_SUPER = 256,
};

static inline float load_f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return tern_half_to_float(h);
}

/// 6-bit scale and min of sub-block j (0..7) of a Q4_K block.
static inline void q4k_scale_min(const uint8_t *scales, int j, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = scales[j] & 63;
        *m = scales[j + 4] & 63;
    } else {
        *sc = (uint8_t)((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
        *m = (uint8_t)((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}
#endif
