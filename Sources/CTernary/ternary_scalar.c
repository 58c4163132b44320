// Scalar reference of the ternary kernels: plain C on every platform. Every SIMD variant
// is tested against these functions and must return the same integers.
#include "ternary_internal.h"

static void gemv_rows(const tern_t5_matrix *w, const int8_t *q, size_t r0, size_t n, int32_t *out) {
    size_t row_bytes = tern_t5_row_bytes(w->cols), groups = row_bytes / TERN_T5_GROUP_BYTES;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *row = w->packed + (r0 + i) * row_bytes;
        int32_t acc = 0;
        for (size_t g = 0; g < groups; g++)
            for (int j = 0; j < 5; j++)
                for (int b = 0; b < TERN_T5_GROUP_BYTES; b++)
                    acc += tern_t5_trit(row[g * TERN_T5_GROUP_BYTES + b], j) * q[g * TERN_T5_GROUP + j * 64 + b];
        out[i] = acc;
    }
}

static void gemm_block(const tern_t5_matrix *w, size_t r0, const tern_activations *x, uint8_t *codes, int32_t *out) {
    size_t kp = x->stride;
    tern_t5_unpack_block(w, r0, kp, codes);
    for (size_t t = 0; t < x->tokens; t++) {
        const int8_t *q = x->q + t * x->stride;
        for (size_t i = 0; i < TERN_GEMM_ROW_BLOCK; i++) {
            const uint8_t *row = codes + i * kp;
            int32_t acc = 0;
            for (size_t k = 0; k < kp; k++) acc += row[k] * q[k];
            out[t * TERN_GEMM_ROW_BLOCK + i] = acc;
        }
    }
}

static int32_t tq2_block_dot(const uint8_t *qs, const int8_t *x) {
    int32_t acc = 0;
    for (int c = 0; c < 2; c++)
        for (int n = 0; n < 4; n++)
            for (int m = 0; m < 32; m++) acc += ((qs[c * 32 + m] >> (2 * n)) & 3) * x[c * 128 + n * 32 + m];
    return acc;
}

const tern_ternary_kernels tern_ternary_scalar = { gemv_rows, NULL, 0, 0, gemm_block, tq2_block_dot };
