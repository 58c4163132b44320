// AArch64 NEON variant of the float kernels (4 floats per vector).
#include "float_variants.h"
#include "float_half.h"
#if defined(__aarch64__)
#include <arm_neon.h>

/// e^x, same polynomial as the x86 variants; exactly 0 below -87.33.
static inline float32x4_t exp4(float32x4_t x) {
    const float32x4_t lo = vdupq_n_f32(-87.33654f);
    uint32x4_t underflow = vcltq_f32(x, lo);
    x = vminq_f32(vmaxq_f32(x, lo), vdupq_n_f32(88.0f));
    float32x4_t fx = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    x = vfmsq_f32(x, fx, vdupq_n_f32(0.693359375f));
    x = vfmsq_f32(x, fx, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, x);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, x);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, x);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, x);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, x);
    p = vfmaq_f32(vaddq_f32(x, vdupq_n_f32(1.0f)), p, vmulq_f32(x, x));
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(fx), vdupq_n_s32(127)), 23);
    float32x4_t r = vmulq_f32(p, vreinterpretq_f32_s32(e));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(r), underflow));
}

/// 4 weights starting at w[k] as floats.
static inline float32x4_t load_w(tern_float_type t, const void *w, size_t k) {
    switch (t) {
    case TERN_F16: return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)w + k)));
    case TERN_BF16: return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t *)w + k), 16));
    default: return vld1q_f32((const float *)w + k);
    }
}

static inline float w_scalar(tern_float_type t, const void *w, size_t k) {
    switch (t) {
    case TERN_F16: return tern_half_to_float(((const uint16_t *)w)[k]);
    case TERN_BF16: return tern_bfloat_to_float(((const uint16_t *)w)[k]);
    default: return ((const float *)w)[k];
    }
}

static void gemm_cols(const tern_gemm_job *job, size_t j0, size_t j1) {
    const size_t in = job->in, vec_end = in & ~(size_t)3;
    const size_t es = job->wtype == TERN_F32 ? 4 : 2;
    const tern_float_type t = job->wtype;
    for (size_t i = 0; i < job->n; i++) {
        const float *x = job->x + i * in;
        float *y = job->y + i * job->out;
        for (size_t j = j0; j < j1; j += 4) {
            size_t rows = j1 - j < 4 ? j1 - j : 4;
            const char *w[4];
            float32x4_t acc[4];
            for (size_t r = 0; r < 4; r++) {
                w[r] = (const char *)job->w + (j + (r < rows ? r : 0)) * in * es;
                acc[r] = vdupq_n_f32(0.0f);
            }
            for (size_t k = 0; k < vec_end; k += 4) {
                float32x4_t xv = vld1q_f32(x + k);
                for (size_t r = 0; r < 4; r++) acc[r] = vfmaq_f32(acc[r], xv, load_w(t, w[r], k));
            }
            for (size_t r = 0; r < rows; r++) {
                float s = vaddvq_f32(acc[r]);
                for (size_t k = vec_end; k < in; k++) s += x[k] * w_scalar(t, w[r], k);
                y[j + r] = s;
            }
        }
    }
}

static void convert_row(tern_float_type wtype, const void *src, float *dst, size_t n) {
    size_t k = 0;
    for (; k + 4 <= n; k += 4) vst1q_f32(dst + k, load_w(wtype, src, k));
    for (; k < n; k++) dst[k] = w_scalar(wtype, src, k);
}

/// 4 (or fewer) rows × 16 columns of DX held in registers over the whole depth.
static inline __attribute__((always_inline)) void tile_block(
    int rows, const float *g, size_t ldg, const float *t, size_t depth, float *dx, size_t ldx, size_t len) {
    float32x4_t acc[4][4];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < 4; v++) acc[r][v] = vld1q_f32(dx + r * ldx + 4 * v);
    for (size_t o = 0; o < depth; o++) {
        float32x4_t tv[4];
        for (int v = 0; v < 4; v++) tv[v] = vld1q_f32(t + o * len + 4 * v);
        for (int r = 0; r < rows; r++) {
            float gv = g[r * ldg + o];
            for (int v = 0; v < 4; v++) acc[r][v] = vfmaq_n_f32(acc[r][v], tv[v], gv);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < 4; v++) vst1q_f32(dx + r * ldx + 4 * v, acc[r][v]);
}

static void accumulate_tile(const float *g, size_t ldg, size_t rows, const float *t, size_t depth,
                            float *dx, size_t ldx, size_t len) {
    size_t vec_end = len & ~(size_t)15;
    for (size_t r = 0; r < rows; r += 4) {
        size_t nr = rows - r < 4 ? rows - r : 4;
        const float *gr = g + r * ldg;
        float *dr = dx + r * ldx;
        for (size_t k = 0; k < vec_end; k += 16) {
            switch (nr) {
            case 4: tile_block(4, gr, ldg, t + k, depth, dr + k, ldx, len); break;
            case 3: tile_block(3, gr, ldg, t + k, depth, dr + k, ldx, len); break;
            case 2: tile_block(2, gr, ldg, t + k, depth, dr + k, ldx, len); break;
            default: tile_block(1, gr, ldg, t + k, depth, dr + k, ldx, len); break;
            }
        }
        for (size_t i = 0; i < nr; i++)
            for (size_t k = vec_end; k < len; k++) {
                float acc = dr[i * ldx + k];
                for (size_t o = 0; o < depth; o++) acc = fmaf(gr[i * ldg + o], t[o * len + k], acc);
                dr[i * ldx + k] = acc;
            }
    }
}

static void rmsnorm_row(const float *x, const float *weight, float eps, size_t d, float *y) {
    float32x4_t acc = vdupq_n_f32(0.0f);
    size_t k = 0;
    for (; k + 4 <= d; k += 4) { float32x4_t v = vld1q_f32(x + k); acc = vfmaq_f32(acc, v, v); }
    float ss = vaddvq_f32(acc);
    for (; k < d; k++) ss += x[k] * x[k];
    float scale = 1.0f / sqrtf(ss / (float)d + eps);
    for (k = 0; k + 4 <= d; k += 4) {
        float32x4_t v = vmulq_n_f32(vld1q_f32(x + k), scale);
        if (weight) v = vmulq_f32(v, vld1q_f32(weight + k));
        vst1q_f32(y + k, v);
    }
    for (; k < d; k++) y[k] = x[k] * scale * (weight ? weight[k] : 1.0f);
}

static void softmax_row(const float *x, size_t valid, size_t cols, float *y) {
    size_t k = 0;
    float32x4_t mv = vdupq_n_f32(x[0]);
    for (; k + 4 <= valid; k += 4) mv = vmaxq_f32(mv, vld1q_f32(x + k));
    float max = vmaxvq_f32(mv);
    for (; k < valid; k++) max = x[k] > max ? x[k] : max;
    mv = vdupq_n_f32(max);
    float32x4_t sv = vdupq_n_f32(0.0f);
    for (k = 0; k + 4 <= valid; k += 4) {
        float32x4_t e = exp4(vsubq_f32(vld1q_f32(x + k), mv));
        vst1q_f32(y + k, e);
        sv = vaddq_f32(sv, e);
    }
    float sum = vaddvq_f32(sv);
    for (; k < valid; k++) { y[k] = expf(x[k] - max); sum += y[k]; }
    float inv = 1.0f / sum;
    for (k = 0; k + 4 <= valid; k += 4) vst1q_f32(y + k, vmulq_n_f32(vld1q_f32(y + k), inv));
    for (; k < valid; k++) y[k] *= inv;
    for (k = valid; k < cols; k++) y[k] = 0.0f;
}

static void rope_row(float *x, const float *cosd, const float *sind, size_t rot, tern_rope_layout layout) {
    size_t half = rot / 2, i = 0;
    if (layout == TERN_ROPE_NEOX) {
        float *xa = x, *xb = x + half;
        for (; i + 4 <= half; i += 4) {
            float32x4_t a = vld1q_f32(xa + i), b = vld1q_f32(xb + i);
            vst1q_f32(xa + i, vfmaq_f32(vmulq_f32(a, vld1q_f32(cosd + i)), b, vld1q_f32(sind + i)));
            vst1q_f32(xb + i, vfmaq_f32(vmulq_f32(b, vld1q_f32(cosd + half + i)), a, vld1q_f32(sind + half + i)));
        }
        for (; i < half; i++) {
            float a = xa[i], b = xb[i];
            xa[i] = a * cosd[i] + b * sind[i];
            xb[i] = b * cosd[half + i] + a * sind[half + i];
        }
    } else {
        size_t k = 0;
        for (; k + 4 <= rot; k += 4) {
            float32x4_t v = vld1q_f32(x + k), swapped = vrev64q_f32(v);
            vst1q_f32(x + k, vfmaq_f32(vmulq_f32(v, vld1q_f32(cosd + k)), swapped, vld1q_f32(sind + k)));
        }
        for (; k < rot; k += 2) {
            float a = x[k], b = x[k + 1];
            x[k] = a * cosd[k] + b * sind[k];
            x[k + 1] = b * cosd[k + 1] + a * sind[k + 1];
        }
    }
}

static inline float32x4_t act4(tern_ffn_activation act, float32x4_t v) {
    if (act == TERN_ACT_SILU) return vdivq_f32(v, vaddq_f32(vdupq_n_f32(1.0f), exp4(vnegq_f32(v))));
    float32x4_t r = vmaxq_f32(v, vdupq_n_f32(0.0f));
    return vmulq_f32(r, r);
}

static void activate(tern_ffn_activation act, const float *x, size_t n, float *y) {
    size_t k = 0;
    for (; k + 4 <= n; k += 4) vst1q_f32(y + k, act4(act, vld1q_f32(x + k)));
    for (; k < n; k++) y[k] = act == TERN_ACT_SILU ? tern_silu_scalar(x[k]) : tern_relu2_scalar(x[k]);
}

static void gated(tern_ffn_activation act, const float *gate, const float *up, size_t n, float *y) {
    size_t k = 0;
    for (; k + 4 <= n; k += 4) vst1q_f32(y + k, vmulq_f32(act4(act, vld1q_f32(gate + k)), vld1q_f32(up + k)));
    for (; k < n; k++)
        y[k] = (act == TERN_ACT_SILU ? tern_silu_scalar(gate[k]) : tern_relu2_scalar(gate[k])) * up[k];
}

const tern_float_kernels tern_float_kernels_neon = {
    gemm_cols, convert_row, accumulate_tile, rmsnorm_row, softmax_row, rope_row, activate, gated,
};
#endif
