// Public ternary encodings (TQ2_0, TQ1_0, I2_S), the engine's T5 layout, absmean
// ternarization and int8 activation quantization. Byte layouts are documented in
// tern_ternary.h; encoders match gguf-py 0.19 / bitnet.cpp bit for bit.
#include "ternary_internal.h"
#include "tern_float.h"
#include "tern_scratch.h"
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

size_t tern_t5_padded_cols(size_t cols) { return round_up(cols ? cols : 1, TERN_T5_GROUP); }
size_t tern_t5_row_bytes(size_t cols) { return tern_t5_padded_cols(cols) / 5; }

size_t tern_activation_stride(size_t cols) {
    size_t t5 = tern_t5_padded_cols(cols), tq = round_up(cols ? cols : 1, TERN_QK);
    return t5 > tq ? t5 : tq;
}

size_t tern_tq2_0_bytes(size_t rows, size_t cols) { return rows * round_up(cols, TERN_QK) / TERN_QK * TERN_TQ2_0_BLOCK_BYTES; }
size_t tern_tq1_0_bytes(size_t rows, size_t cols) { return rows * round_up(cols, TERN_QK) / TERN_QK * TERN_TQ1_0_BLOCK_BYTES; }
size_t tern_i2s_bytes(size_t rows, size_t cols) { return round_up(rows * cols, TERN_I2S_BLOCK) / 4 + 32; }

/// Base-3 digits (most significant first) to the byte that TQ1_0 and T5 store.
static uint8_t pack_trits(const uint8_t *digits, int n) {
    unsigned v = 0;
    for (int i = 0; i < n; i++) v = v * 3 + digits[i];
    for (int i = n; i < 5; i++) v *= 3;
    return (uint8_t)((v * 256 + 242) / 243);
}

/// Packs tern_t5_padded_cols(cols) codes (the padding already code 1) into T5 bytes: five
/// planes of 64 codes per group, so the loop over a group's bytes vectorizes.
static void t5_pack_padded(const uint8_t *codes, size_t padded, uint8_t *dst) {
    for (size_t g = 0; g < padded / TERN_T5_GROUP; g++) {
        const uint8_t *c = codes + g * TERN_T5_GROUP;
        uint8_t *out = dst + g * TERN_T5_GROUP_BYTES;
        for (int i = 0; i < TERN_T5_GROUP_BYTES; i++) {
            unsigned v = c[i] * 81u + c[64 + i] * 27u + c[128 + i] * 9u + c[192 + i] * 3u + c[256 + i];
            out[i] = (uint8_t)((v * 256 + 242) / 243); // pack_trits(c, 5)
        }
    }
}

void tern_t5_pack_row(const uint8_t *codes, size_t cols, uint8_t *dst) {
    size_t padded = tern_t5_padded_cols(cols);
    uint8_t *row = malloc(padded);
    memcpy(row, codes, cols);
    memset(row + cols, 1, padded - cols);
    t5_pack_padded(row, padded, dst);
    free(row);
}

void tern_t5_unpack_row(const uint8_t *src, size_t cols, uint8_t *codes) {
    size_t groups = tern_t5_padded_cols(cols) / TERN_T5_GROUP;
    for (size_t g = 0; g < groups; g++)
        for (int j = 0; j < 5; j++)
            for (int i = 0; i < TERN_T5_GROUP_BYTES; i++)
                codes[g * TERN_T5_GROUP + (size_t)j * 64 + (size_t)i] = tern_t5_trit(src[g * TERN_T5_GROUP_BYTES + (size_t)i], j);
}

// ---- fp16 and gguf rounding ------------------------------------------------------------

/// gguf-py's np_roundf (round half away from zero, computed the same way in float32);
/// NaN becomes 0 so that bad input yields a zero weight rather than undefined behaviour.
static float roundf_away(float v) {
    if (isnan(v)) return 0;
    float a = fabsf(v), floored = floorf(a);
    return copysignf(floored + floorf(2 * (a - floored)), v);
}

/// The per-block code rule of gguf TQ1_0/TQ2_0: d = max|x|, code = round(x/d) + 1.
static uint16_t block_codes(const float *row, size_t cols, size_t start, uint8_t codes[TERN_QK]) {
    float d = 0;
    for (size_t i = 0; i < TERN_QK; i++) {
        float v = start + i < cols ? fabsf(row[start + i]) : 0;
        if (v > d) d = v;
    }
    float id = d == 0 ? 0 : 1.0f / d;
    for (size_t i = 0; i < TERN_QK; i++) {
        float v = start + i < cols ? row[start + i] : 0;
        float t = roundf_away(v * id);
        codes[i] = (uint8_t)((t > 0) - (t < 0) + 1);
    }
    return tern_f32_to_f16(d);
}

static void put_fp16(uint8_t *p, uint16_t h) { p[0] = (uint8_t)h; p[1] = (uint8_t)(h >> 8); }
static uint16_t get_fp16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

// ---- TQ2_0 -----------------------------------------------------------------------------

void tern_encode_tq2_0(const float *src, size_t rows, size_t cols, uint8_t *dst) {
    size_t blocks = round_up(cols, TERN_QK) / TERN_QK;
    uint8_t codes[TERN_QK];
    for (size_t r = 0; r < rows; r++)
        for (size_t b = 0; b < blocks; b++) {
            uint8_t *out = dst + (r * blocks + b) * TERN_TQ2_0_BLOCK_BYTES;
            uint16_t d = block_codes(src + r * cols, cols, b * TERN_QK, codes);
            for (int c = 0; c < 2; c++)
                for (int m = 0; m < 32; m++) {
                    uint8_t q = 0;
                    for (int n = 0; n < 4; n++) q |= (uint8_t)(codes[c * 128 + n * 32 + m] << (2 * n));
                    out[c * 32 + m] = q;
                }
            put_fp16(out + 64, d);
        }
}

/// Codes of one TQ2_0 block in weight order.
static void tq2_0_block_codes(const uint8_t *block, uint8_t codes[TERN_QK]) {
    for (int c = 0; c < 2; c++)
        for (int n = 0; n < 4; n++)
            for (int m = 0; m < 32; m++) codes[c * 128 + n * 32 + m] = (block[c * 32 + m] >> (2 * n)) & 3;
}

// ---- TQ1_0 -----------------------------------------------------------------------------

void tern_encode_tq1_0(const float *src, size_t rows, size_t cols, uint8_t *dst) {
    size_t blocks = round_up(cols, TERN_QK) / TERN_QK;
    uint8_t codes[TERN_QK], digits[5];
    for (size_t r = 0; r < rows; r++)
        for (size_t b = 0; b < blocks; b++) {
            uint8_t *out = dst + (r * blocks + b) * TERN_TQ1_0_BLOCK_BYTES;
            uint16_t d = block_codes(src + r * cols, cols, b * TERN_QK, codes);
            for (int m = 0; m < 32; m++) {      // 160 weights, 5 per byte along 32 bytes
                for (int n = 0; n < 5; n++) digits[n] = codes[m + n * 32];
                out[m] = pack_trits(digits, 5);
            }
            for (int m = 0; m < 16; m++) {      // 80 weights along 16 bytes
                for (int n = 0; n < 5; n++) digits[n] = codes[160 + m + n * 16];
                out[32 + m] = pack_trits(digits, 5);
            }
            for (int m = 0; m < 4; m++) {       // last 16 weights, 4 per byte
                for (int n = 0; n < 4; n++) digits[n] = codes[240 + m + n * 4];
                out[48 + m] = pack_trits(digits, 4);
            }
            put_fp16(out + 52, d);
        }
}

static void tq1_0_block_codes(const uint8_t *block, uint8_t codes[TERN_QK]) {
    for (int n = 0; n < 5; n++) {
        for (int m = 0; m < 32; m++) codes[m + n * 32] = tern_t5_trit(block[m], n);
        for (int m = 0; m < 16; m++) codes[160 + m + n * 16] = tern_t5_trit(block[32 + m], n);
    }
    for (int n = 0; n < 4; n++)
        for (int m = 0; m < 4; m++) codes[240 + m + n * 4] = tern_t5_trit(block[48 + m], n);
}

// ---- I2_S codes (the repack below reads them too) ------------------------------------------

static uint8_t i2s_code(const uint8_t *src, size_t i) {
    size_t block = i / TERN_I2S_BLOCK, j = i % TERN_I2S_BLOCK;
    uint8_t c = (src[block * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3;
    return c > 2 ? 1 : c;
}

static float i2s_scale(const uint8_t *src, size_t rows, size_t cols) {
    float s;
    memcpy(&s, src + tern_i2s_bytes(rows, cols) - 32, 4);
    return s;
}

// ---- Row-wise TQ2_0 / TQ1_0 decode, and the repack of every encoding ----------------------

typedef void (*block_decoder)(const uint8_t *block, uint8_t codes[TERN_QK]);

/// Codes of row r, written block by block into `codes` (room for whole blocks), and the
/// block scales; returns the row's common scale, or NAN when two blocks with non-zero
/// weights disagree. Codes past `cols` are left as the blocks' padding.
static float tq_row(const uint8_t *src, size_t r, size_t cols, size_t block_bytes, block_decoder decode,
                    uint8_t *codes, float *block_scales) {
    size_t blocks = round_up(cols, TERN_QK) / TERN_QK;
    float common = 0;
    int have = 0;
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *block = src + (r * blocks + b) * block_bytes;
        uint8_t *c = codes + b * TERN_QK;
        decode(block, c);
        float d = tern_half_to_float(get_fp16(block + block_bytes - 2));
        if (block_scales) block_scales[b] = d;
        size_t n = cols - b * TERN_QK < TERN_QK ? cols - b * TERN_QK : TERN_QK;
        uint8_t nonzero = 0;
        for (size_t i = 0; i < n; i++) {
            uint8_t v = c[i] > 2 ? 1 : c[i]; // code 3 never appears in valid data; read as zero
            c[i] = v;
            nonzero |= v ^ 1;
        }
        if (!nonzero) continue;
        if (!have) { common = d; have = 1; }
        else if (d != common) return NAN;
    }
    return common;
}

/// Room for one row's codes: whole TQ blocks and the T5 padding.
static size_t tq_codes_capacity(size_t cols) {
    size_t tq = round_up(cols ? cols : 1, TERN_QK), t5 = tern_t5_padded_cols(cols);
    return tq > t5 ? tq : t5;
}

static void tq_decode(const uint8_t *src, size_t rows, size_t cols, size_t block_bytes, block_decoder decode, float *dst) {
    size_t blocks = round_up(cols, TERN_QK) / TERN_QK;
    uint8_t *codes = malloc(tq_codes_capacity(cols));
    float *scales = malloc(blocks * sizeof(float) + 1);
    for (size_t r = 0; r < rows; r++) {
        tq_row(src, r, cols, block_bytes, decode, codes, scales);
        for (size_t k = 0; k < cols; k++) dst[r * cols + k] = scales[k / TERN_QK] * (float)((int)codes[k] - 1);
    }
    free(codes);
    free(scales);
}

/// Rows one repack task converts: a few hundred KB of output, enough to amortize a task.
#define REPACK_ROWS_PER_TASK 64

typedef struct {
    const uint8_t *src;
    size_t rows, cols, block_bytes;
    block_decoder decode;   // NULL: I2_S
    uint8_t *dst;
    float *row_scales;
    _Atomic long first_bad; // lowest row whose blocks disagree on the scale; LONG_MAX if none
} repack_job;

static void repack_task(void *ctx, int task, int thread) {
    (void)thread;
    repack_job *job = ctx;
    size_t r0 = (size_t)task * REPACK_ROWS_PER_TASK, r1 = r0 + REPACK_ROWS_PER_TASK;
    if (r1 > job->rows) r1 = job->rows;
    size_t cols = job->cols, padded = tern_t5_padded_cols(cols), row_bytes = tern_t5_row_bytes(cols);
    uint8_t *codes = malloc(tq_codes_capacity(cols));
    float i2s = job->decode ? 0 : i2s_scale(job->src, job->rows, cols);
    for (size_t r = r0; r < r1; r++) {
        float s;
        if (job->decode) {
            s = tq_row(job->src, r, cols, job->block_bytes, job->decode, codes, NULL);
            if (isnan(s)) {
                long seen = atomic_load(&job->first_bad);
                while ((long)r < seen && !atomic_compare_exchange_weak(&job->first_bad, &seen, (long)r)) {}
                break;
            }
        } else {
            for (size_t k = 0; k < cols; k++) codes[k] = i2s_code(job->src, r * cols + k);
            s = i2s;
        }
        memset(codes + cols, 1, padded - cols);
        job->row_scales[r] = s;
        t5_pack_padded(codes, padded, job->dst + r * row_bytes);
    }
    free(codes);
}

/// Rows are independent: each task writes its own rows, so any thread count gives the bytes
/// of a serial repack. Returns -1 or the lowest bad row (what a serial scan stops at).
static long repack(tern_pool *pool, const uint8_t *src, size_t rows, size_t cols, size_t block_bytes,
                   block_decoder decode, uint8_t *dst, float *row_scales) {
    repack_job job = {src, rows, cols, block_bytes, decode, dst, row_scales, LONG_MAX};
    tern_pool_run(pool, (int)((rows + REPACK_ROWS_PER_TASK - 1) / REPACK_ROWS_PER_TASK), repack_task, &job);
    long bad = atomic_load(&job.first_bad);
    return bad == LONG_MAX ? -1 : bad;
}

void tern_decode_tq2_0(const uint8_t *src, size_t rows, size_t cols, float *dst) {
    tq_decode(src, rows, cols, TERN_TQ2_0_BLOCK_BYTES, tq2_0_block_codes, dst);
}
void tern_decode_tq1_0(const uint8_t *src, size_t rows, size_t cols, float *dst) {
    tq_decode(src, rows, cols, TERN_TQ1_0_BLOCK_BYTES, tq1_0_block_codes, dst);
}
long tern_repack_tq2_0(tern_pool *pool, const uint8_t *src, size_t rows, size_t cols, uint8_t *dst, float *row_scales) {
    return repack(pool, src, rows, cols, TERN_TQ2_0_BLOCK_BYTES, tq2_0_block_codes, dst, row_scales);
}
long tern_repack_tq1_0(tern_pool *pool, const uint8_t *src, size_t rows, size_t cols, uint8_t *dst, float *row_scales) {
    return repack(pool, src, rows, cols, TERN_TQ1_0_BLOCK_BYTES, tq1_0_block_codes, dst, row_scales);
}

// ---- I2_S ------------------------------------------------------------------------------

void tern_encode_i2s(const float *src, size_t rows, size_t cols, uint8_t *dst) {
    size_t n = rows * cols, total = tern_i2s_bytes(rows, cols);
    double max = 0;
    for (size_t i = 0; i < n; i++) max = fmax(max, fabs((double)src[i]));
    memset(dst, 0, total);
    for (size_t i = 0; i < round_up(n, TERN_I2S_BLOCK); i++) {
        uint8_t c = 1;
        if (i < n && fabs((double)src[i]) >= 1e-6) c = (double)src[i] * max > 0 ? 2 : 0;
        size_t block = i / TERN_I2S_BLOCK, j = i % TERN_I2S_BLOCK;
        dst[block * 32 + j % 32] |= (uint8_t)(c << (6 - 2 * (j / 32)));
    }
    float scale = (float)max;
    memcpy(dst + total - 32, &scale, 4);
}

void tern_decode_i2s(const uint8_t *src, size_t rows, size_t cols, float *dst) {
    float s = i2s_scale(src, rows, cols);
    for (size_t i = 0; i < rows * cols; i++) dst[i] = s * (float)((int)i2s_code(src, i) - 1);
}

void tern_repack_i2s(tern_pool *pool, const uint8_t *src, size_t rows, size_t cols, uint8_t *dst, float *row_scales) {
    repack(pool, src, rows, cols, 0, NULL, dst, row_scales);
}

// ---- Ternarization and activations --------------------------------------------------------

float tern_ternarize(float *values, size_t count) {
    double sum = 0;
    for (size_t i = 0; i < count; i++) sum += fabs((double)values[i]);
    float gamma = count ? (float)(sum / (double)count) : 0;
    for (size_t i = 0; i < count; i++) {
        float t = gamma == 0 ? 0 : roundf_away(values[i] / gamma);
        t = t > 1 ? 1 : t < -1 ? -1 : t;
        values[i] = gamma * t;
    }
    return gamma;
}

/// rint(v·s) clamped to ±127 (ties to even; NaN → 0). Clamping first keeps |v| < 2^22, where
/// adding and removing 1.5·2^23 rounds to nearest-even in the default rounding mode: the
/// same result as rintf, without a libm call, so the loops around it vectorize.
static inline float quantize_value(float v, float s) {
    v *= s;
    if (v != v) return 0;
    v = v > 127 ? 127 : v < -127 ? -127 : v;
    return (v + 12582912.0f) - 12582912.0f;
}

static inline float absmax(const float *row, size_t cols) {
    float amax = 0;
    for (size_t k = 0; k < cols; k++) amax = fmaxf(amax, fabsf(row[k]));
    return amax;
}

/// Quantizes one row with scale 127/amax into `out` (stride bytes, padding zeroed); returns Σq.
static int32_t quantize_row(const float *row, size_t cols, size_t stride, float amax, int8_t *out) {
    float s = amax > 0 ? 127.0f / amax : 0;
    int32_t sum = 0;
    for (size_t k = 0; k < cols; k++) {
        float v = quantize_value(row[k], s);
        out[k] = (int8_t)v;
        sum += (int32_t)v;
    }
    memset(out + cols, 0, stride - cols);
    return sum;
}

void tern_quantize_activations(const float *x, size_t tokens, size_t cols, size_t stride,
                               int8_t *q, float *dequant, int32_t *sums) {
    for (size_t t = 0; t < tokens; t++) {
        float amax = absmax(x + t * cols, cols);
        sums[t] = quantize_row(x + t * cols, cols, stride, amax, q + t * stride);
        dequant[t] = amax > 0 ? amax / 127.0f : 0;
    }
}

int tern_quantize_activations_split(const float *x, size_t tokens, size_t cols, size_t stride,
                                    int8_t *q, float *dequant, int32_t *sums) {
    float *residual = tern_scratch_acquire(TERN_SCRATCH_SPLIT_RESIDUAL, cols * sizeof(float));
    if (!residual) return -1;
    for (size_t t = 0; t < tokens; t++) {
        const float *row = x + t * cols;
        float amax = absmax(row, cols), d = amax > 0 ? amax / 127.0f : 0;
        int8_t *hi = q + t * stride;
        sums[t] = quantize_row(row, cols, stride, amax, hi);
        dequant[t] = d;
        for (size_t k = 0; k < cols; k++) residual[k] = row[k] - (float)hi[k] * d;
        float rmax = absmax(residual, cols);
        sums[tokens + t] = quantize_row(residual, cols, stride, rmax, q + (tokens + t) * stride);
        dequant[tokens + t] = rmax > 0 ? rmax / 127.0f : 0;
    }
    tern_scratch_release(TERN_SCRATCH_SPLIT_RESIDUAL, residual);
    return 0;
}
