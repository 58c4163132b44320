// Portable scalar reference of every float kernel: plain loops in a fixed order, double
// accumulators where a sum decides accuracy. The SIMD variants are tested against these.
#include "float_variants.h"
#include "float_half.h"

static inline float weight_at(tern_float_type t, const void *w, size_t i) {
    switch (t) {
    case TERN_F16: return tern_half_to_float(((const uint16_t *)w)[i]);
    case TERN_BF16: return tern_bfloat_to_float(((const uint16_t *)w)[i]);
    default: return ((const float *)w)[i];
    }
}

static size_t element_size(tern_float_type t) { return t == TERN_F32 ? 4 : 2; }

static void gemm_cols(const tern_gemm_job *job, size_t j0, size_t j1) {
    size_t es = element_size(job->wtype);
    for (size_t i = 0; i < job->n; i++) {
        const float *x = job->x + i * job->in;
        for (size_t j = j0; j < j1; j++) {
            const void *w = (const char *)job->w + j * job->in * es;
            double acc = 0;
            for (size_t k = 0; k < job->in; k++) acc += (double)x[k] * weight_at(job->wtype, w, k);
            job->y[i * job->out + j] = (float)acc;
        }
    }
}

static void convert_row(tern_float_type wtype, const void *src, float *dst, size_t n) {
    for (size_t k = 0; k < n; k++) dst[k] = weight_at(wtype, src, k);
}

static void accumulate_tile(const float *g, size_t ldg, size_t rows, const float *t, size_t depth,
                            float *dx, size_t ldx, size_t len) {
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < len; k++) {
            float acc = dx[r * ldx + k];
            for (size_t o = 0; o < depth; o++) acc += g[r * ldg + o] * t[o * len + k];
            dx[r * ldx + k] = acc;
        }
}

static void rmsnorm_row(const float *x, const float *weight, float eps, size_t d, float *y) {
    double ss = 0;
    for (size_t k = 0; k < d; k++) ss += (double)x[k] * x[k];
    float scale = (float)(1.0 / sqrt(ss / (double)d + eps));
    for (size_t k = 0; k < d; k++) y[k] = x[k] * scale * (weight ? weight[k] : 1.0f);
}

static void softmax_row(const float *x, size_t valid, size_t cols, float *y) {
    float max = x[0];
    for (size_t k = 1; k < valid; k++) max = x[k] > max ? x[k] : max;
    double sum = 0;
    for (size_t k = 0; k < valid; k++) { y[k] = expf(x[k] - max); sum += y[k]; }
    float inv = (float)(1.0 / sum);
    for (size_t k = 0; k < valid; k++) y[k] *= inv;
    for (size_t k = valid; k < cols; k++) y[k] = 0.0f;
}

static void rope_row(float *x, const float *cosd, const float *sind, size_t rot,
                     tern_rope_layout layout) {
    size_t half = rot / 2;
    for (size_t i = 0; i < half; i++) {
        size_t a = layout == TERN_ROPE_NEOX ? i : 2 * i;
        size_t b = layout == TERN_ROPE_NEOX ? i + half : 2 * i + 1;
        float xa = x[a], xb = x[b];
        x[a] = xa * cosd[a] + xb * sind[a];
        x[b] = xb * cosd[b] + xa * sind[b];
    }
}

static void activate(tern_ffn_activation act, const float *x, size_t n, float *y) {
    for (size_t k = 0; k < n; k++) y[k] = act == TERN_ACT_SILU ? tern_silu_scalar(x[k]) : tern_relu2_scalar(x[k]);
}

static void gated(tern_ffn_activation act, const float *gate, const float *up, size_t n, float *y) {
    for (size_t k = 0; k < n; k++)
        y[k] = (act == TERN_ACT_SILU ? tern_silu_scalar(gate[k]) : tern_relu2_scalar(gate[k])) * up[k];
}

const tern_float_kernels tern_float_kernels_scalar = {
    gemm_cols, convert_row, accumulate_tile, rmsnorm_row, softmax_row, rope_row, activate, gated,
};
