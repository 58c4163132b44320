#ifndef TERN_QUANT_VARIANTS_H
#define TERN_QUANT_VARIANTS_H
// Private: per-ISA dot products of one quantized weight row with one row of quantized
// activations (in/32 tern_q8_act blocks). quant_dispatch.c does the tiling and threading.
#include "quant_layout.h"
#include "tern_cpu.h"

typedef float (*tern_qdot_fn)(const uint8_t *w, const tern_q8_act *a, size_t in);
/// Four activation rows (`stride` blocks apart) against one weight row: out[0..4). Each
/// row's result has the same bits as tern_qdot_fn gives for it alone.
typedef void (*tern_qdot4_fn)(const uint8_t *w, const tern_q8_act *a, size_t stride, size_t in, float *out);

typedef struct {
    tern_qdot_fn q8_0, q4_0, q4_1, q4_k, q6_k;
    /// NULL where the variant has no 4-row kernel (the dispatcher then calls the 1-row one).
    tern_qdot4_fn q8_0_x4, q4_0_x4, q4_1_x4, q4_k_x4, q6_k_x4;
    /// The same for two activation rows (a decode step of the int16 precision: hi and lo),
    /// NULL where absent; same signature as the 4-row kernels.
    tern_qdot4_fn q8_0_x2, q4_0_x2, q4_1_x2, q4_k_x2, q6_k_x2;
} tern_quant_kernels;

extern const tern_quant_kernels tern_quant_kernels_scalar;
#if defined(__x86_64__)
extern const tern_quant_kernels tern_quant_kernels_avx2;
extern const tern_quant_kernels tern_quant_kernels_avx512;
#endif
#if defined(__aarch64__)
extern const tern_quant_kernels tern_quant_kernels_neon;
#endif
#endif
