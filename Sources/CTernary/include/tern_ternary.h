#ifndef TERN_TERNARY_H
#define TERN_TERNARY_H
// Ternary kernel engine: public encodings (TQ2_0, TQ1_0, I2_S), the engine's own packed
// layout ("T5", 5 trits per byte, 1.6 bits per weight), int8 activation quantization and
// the ternary GEMV / GEMM / transposed product. See docs/kernels.md.
#include <stddef.h>
#include <stdint.h>
#include "tern_pool.h"
#ifdef __cplusplus
extern "C" {
#endif

// ---- Engine layout -------------------------------------------------------------------
// A row of `cols` weights is padded to a multiple of TERN_T5_GROUP trits (zeros). Group g
// of a row is 64 bytes; byte i of the group holds the trits (codes 0,1,2 = -1,0,+1) of
// columns g*320 + j*64 + i for j = 0..4, as q = ceil(v*256/243) with v = sum c_j*3^(4-j).
// Trit j is recovered as ((q*3^j mod 256)*3) >> 8: plane j of a group is 64 consecutive
// columns, so one SIMD register of packed bytes meets five contiguous activation vectors.
#define TERN_T5_GROUP 320
#define TERN_T5_GROUP_BYTES 64

size_t tern_t5_padded_cols(size_t cols);
size_t tern_t5_row_bytes(size_t cols);

/// Packs one row of codes (0,1,2; `cols` of them) into T5 bytes (tern_t5_row_bytes(cols)).
void tern_t5_pack_row(const uint8_t *codes, size_t cols, uint8_t *dst);
/// Unpacks one T5 row into tern_t5_padded_cols(cols) codes (padding decodes as 1 = zero).
void tern_t5_unpack_row(const uint8_t *src, size_t cols, uint8_t *codes);

// ---- Public encodings ---------------------------------------------------------------
// TQ2_0 / TQ1_0: blocks of 256 weights with an fp16 scale, laid out per row; a row whose
// length is not a multiple of 256 is padded with zeros to whole blocks.
// I2_S (bitnet.cpp, x86 layout): the tensor is one flat run of 128-weight blocks of 32
// bytes (weight j of a block: byte j%32, bits 6-2*(j/32)), padded with zeros to whole
// blocks, followed by 32 bytes whose first 4 hold the fp32 scale.
#define TERN_QK 256
#define TERN_TQ2_0_BLOCK_BYTES 66
#define TERN_TQ1_0_BLOCK_BYTES 54
#define TERN_I2S_BLOCK 128

size_t tern_tq2_0_bytes(size_t rows, size_t cols);
size_t tern_tq1_0_bytes(size_t rows, size_t cols);
size_t tern_i2s_bytes(size_t rows, size_t cols);

/// Same bytes as Python gguf.quants.quantize (per-block absmax scale, round half away
/// from zero). Feed already ternarized values (tern_ternarize) for a lossless file.
void tern_encode_tq2_0(const float *src, size_t rows, size_t cols, uint8_t *dst);
void tern_encode_tq1_0(const float *src, size_t rows, size_t cols, uint8_t *dst);
/// bitnet.cpp's rule: scale = max|x|, code by sign, |x| < 1e-6 is zero.
void tern_encode_i2s(const float *src, size_t rows, size_t cols, uint8_t *dst);

/// BitNet b1.58 absmean ternarization in place: gamma = mean|W| (over all `count`
/// values), W = gamma * clamp(round(W/gamma), -1, 1). Returns gamma (0 for an all-zero W).
float tern_ternarize(float *values, size_t count);

void tern_decode_tq2_0(const uint8_t *src, size_t rows, size_t cols, float *dst);
void tern_decode_tq1_0(const uint8_t *src, size_t rows, size_t cols, float *dst);
void tern_decode_i2s(const uint8_t *src, size_t rows, size_t cols, float *dst);

/// Repacks into the engine layout: `dst` holds rows * tern_t5_row_bytes(cols) bytes and
/// `row_scales` one scale per row. Returns -1 on success, otherwise the index of the first
/// row whose non-zero blocks carry different scales (the engine keeps one scale per row).
/// Rows are spread over `pool` (NULL: the caller alone); the bytes written are the same
/// for any thread count.
long tern_repack_tq2_0(tern_pool *pool, const uint8_t *src, size_t rows, size_t cols, uint8_t *dst, float *row_scales);
long tern_repack_tq1_0(tern_pool *pool, const uint8_t *src, size_t rows, size_t cols, uint8_t *dst, float *row_scales);
void tern_repack_i2s(tern_pool *pool, const uint8_t *src, size_t rows, size_t cols, uint8_t *dst, float *row_scales);

// ---- Activations --------------------------------------------------------------------
/// Per token absmax int8: s = 127/max|x|, q = clamp(rint(x*s), -127, 127). Writes
/// `tokens` rows of `stride` bytes (stride >= cols, padding zeroed), the dequantization
/// factor 1/s per token (0 for an all-zero token) and the sum of q per token.
void tern_quantize_activations(const float *x, size_t tokens, size_t cols, size_t stride,
                               int8_t *q, float *dequant, int32_t *sums);

/// The int16 precision's split of each token x into hi + lo, both quantized as above:
/// row t is exactly tern_quantize_activations' row t (hi = q·dequant), row tokens + t is
/// the residual x − hi quantized with its own absmax (a scale ≥ 254× finer). So
/// W·x ≈ W·hi + W·lo with about 15 bits per activation. Writes 2·tokens rows, dequant
/// factors and sums. Returns 0, or -1 when its scratch cannot be allocated.
int tern_quantize_activations_split(const float *x, size_t tokens, size_t cols, size_t stride,
                                    int8_t *q, float *dequant, int32_t *sums);

/// Row stride of quantized activations for `cols` inputs: covers both the T5 padding and
/// whole 256-weight TQ blocks, and is a multiple of 64.
size_t tern_activation_stride(size_t cols);

// ---- Kernels ------------------------------------------------------------------------
typedef enum {
    TERN_VARIANT_SCALAR = 0,
    TERN_VARIANT_AVX2 = 1,
    TERN_VARIANT_AVX512VNNI = 2,
    TERN_VARIANT_NEON = 3,
    TERN_VARIANT_NEON_DOTPROD = 4,
} tern_variant;

int tern_variant_available(tern_variant v);
/// The fastest variant this CPU runs, within the calling thread's kernel class override
/// (tern_cpu.h). Every variant gives the same bits; the override keeps it in step anyway.
tern_variant tern_variant_best(void);

typedef struct {
    const uint8_t *packed;      // rows * tern_t5_row_bytes(cols) bytes, T5 layout
    const float *row_scales;    // one per row
    size_t rows, cols;
} tern_t5_matrix;

typedef struct {
    const int8_t *q;            // tokens rows of `stride` bytes (see tern_activation_stride)
    const float *dequant;       // per token
    const int32_t *sums;        // per token
    size_t tokens, cols, stride;
} tern_activations;

/// y[t*rows + r] = (sum_k w[r][k]*q[t][k]) * row_scale[r] * dequant[t]. `y` holds
/// tokens*rows floats. Up to 12 tokens (32 with AVX-512 VNNI, 64 with AVX2) use the GEMV kernel (weights decoded on the fly),
/// more use the GEMM kernel (rows unpacked to int8 tiles once per call); the integer sums
/// are exact, so every variant and thread count gives identical bits.
/// Caller guarantees x->cols == w->cols and x->stride == tern_activation_stride(cols).
void tern_t5_matmul(tern_variant v, tern_pool *pool, const tern_t5_matrix *w,
                    const tern_activations *x, float *y);

/// The most matrices one tern_t5_matmul_many call fuses.
#define TERN_MATMUL_MANY_MAX 4
/// tern_t5_matmul for `count` matrices that read the same activations (Q, K and V; gate
/// and up): ys[i] = ws[i] · x, with the bits of separate calls. At decode sizes the rows
/// of all of them are split over the pool in one run, so a layer waits for its threads
/// once per shared input instead of once per matrix.
void tern_t5_matmul_many(tern_variant v, tern_pool *pool, const tern_t5_matrix *const *ws, float *const *ys,
                         size_t count, const tern_activations *x);

/// Backprop product: dx[t*cols + k] = sum_r w[r][k] * row_scale[r] * g[t*rows + r], in
/// float32 (g is not quantized), summed in row order so results are identical for any
/// thread count. `dx` holds tokens*cols floats.
void tern_t5_transposed(tern_pool *pool, const tern_t5_matrix *w, const float *g,
                        size_t tokens, float *dx);

/// The same product read straight from TQ2_0 blocks (no repacking), for comparison in
/// benchmarks: per block, float(d) * (integer block dot), blocks summed in order.
void tern_tq2_0_matmul(tern_variant v, tern_pool *pool, const uint8_t *tq2, size_t rows,
                       size_t cols, const tern_activations *x, float *y);

// ---- Benchmark support ------------------------------------------------------------------
/// Reads `bytes` (a multiple of 8) once on the pool and returns the sum of its 64-bit words
/// (so the reads cannot be optimized away). Each pool thread reads one contiguous part with
/// the widest loads the CPU has; `partial` holds one slot per pool thread.
uint64_t tern_stream_sum(tern_pool *pool, const void *data, size_t bytes, uint64_t *partial);

#ifdef __cplusplus
}
#endif
#endif
