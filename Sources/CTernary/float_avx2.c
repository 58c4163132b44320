// AVX2 + FMA + F16C variant of the float kernels (8 floats per vector).
#include "float_variants.h"
#include "float_half.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// e^x with a Cephes-style degree-6 polynomial: ~1-2 ulp; exactly 0 below -87.33.
AVX2 static inline __m256 exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.33654f);
    __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.0f));
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

/// 8 weights starting at w[k] as floats.
AVX2 static inline __m256 load_w(tern_float_type t, const void *w, size_t k) {
    switch (t) {
    case TERN_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + k)));
    case TERN_BF16:
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + k))), 16));
    default: return _mm256_loadu_ps((const float *)w + k);
    }
}

AVX2 static inline float w_scalar(tern_float_type t, const void *w, size_t k) {
    switch (t) {
    case TERN_F16: return tern_half_to_float(((const uint16_t *)w)[k]);
    case TERN_BF16: return tern_bfloat_to_float(((const uint16_t *)w)[k]);
    default: return ((const float *)w)[k];
    }
}

AVX2 static void gemm_cols(const tern_gemm_job *job, size_t j0, size_t j1) {
    const size_t in = job->in, vec_end = in & ~(size_t)7;
    const size_t es = job->wtype == TERN_F32 ? 4 : 2;
    const tern_float_type t = job->wtype;
    for (size_t i = 0; i < job->n; i++) {
        const float *x = job->x + i * in;
        float *y = job->y + i * job->out;
        size_t j = j0;
        for (; j + 4 <= j1; j += 4) {
            const char *w0 = (const char *)job->w + j * in * es;
            const void *w1 = w0 + in * es, *w2 = w0 + 2 * in * es, *w3 = w0 + 3 * in * es;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t k = 0; k < vec_end; k += 8) {
                __m256 xv = _mm256_loadu_ps(x + k);
                a0 = _mm256_fmadd_ps(xv, load_w(t, w0, k), a0);
                a1 = _mm256_fmadd_ps(xv, load_w(t, w1, k), a1);
                a2 = _mm256_fmadd_ps(xv, load_w(t, w2, k), a2);
                a3 = _mm256_fmadd_ps(xv, load_w(t, w3, k), a3);
            }
            float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
            for (size_t k = vec_end; k < in; k++) {
                s0 += x[k] * w_scalar(t, w0, k); s1 += x[k] * w_scalar(t, w1, k);
                s2 += x[k] * w_scalar(t, w2, k); s3 += x[k] * w_scalar(t, w3, k);
            }
            y[j] = s0; y[j + 1] = s1; y[j + 2] = s2; y[j + 3] = s3;
        }
        for (; j < j1; j++) {
            const void *w0 = (const char *)job->w + j * in * es;
            __m256 a0 = _mm256_setzero_ps();
            for (size_t k = 0; k < vec_end; k += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), load_w(t, w0, k), a0);
            float s0 = hsum(a0);
            for (size_t k = vec_end; k < in; k++) s0 += x[k] * w_scalar(t, w0, k);
            y[j] = s0;
        }
    }
}

AVX2 static void convert_row(tern_float_type wtype, const void *src, float *dst, size_t n) {
    size_t k = 0;
    for (; k + 8 <= n; k += 8) _mm256_storeu_ps(dst + k, load_w(wtype, src, k));
    for (; k < n; k++) dst[k] = w_scalar(wtype, src, k);
}

/// 4 (or fewer) rows × 16 columns of DX held in registers over the whole depth.
AVX2 static inline __attribute__((always_inline)) void tile_block(
    int rows, const float *g, size_t ldg, const float *t, size_t depth, float *dx, size_t ldx, size_t len) {
    __m256 acc[4][2];
    for (int r = 0; r < rows; r++) {
        acc[r][0] = _mm256_loadu_ps(dx + r * ldx);
        acc[r][1] = _mm256_loadu_ps(dx + r * ldx + 8);
    }
    for (size_t o = 0; o < depth; o++) {
        __m256 t0 = _mm256_loadu_ps(t + o * len), t1 = _mm256_loadu_ps(t + o * len + 8);
        for (int r = 0; r < rows; r++) {
            __m256 gv = _mm256_broadcast_ss(g + r * ldg + o);
            acc[r][0] = _mm256_fmadd_ps(gv, t0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(gv, t1, acc[r][1]);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm256_storeu_ps(dx + r * ldx, acc[r][0]);
        _mm256_storeu_ps(dx + r * ldx + 8, acc[r][1]);
    }
}

AVX2 static void accumulate_tile(const float *g, size_t ldg, size_t rows, const float *t, size_t depth,
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

AVX2 static void rmsnorm_row(const float *x, const float *weight, float eps, size_t d, float *y) {
    __m256 acc = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= d; k += 8) { __m256 v = _mm256_loadu_ps(x + k); acc = _mm256_fmadd_ps(v, v, acc); }
    float ss = hsum(acc);
    for (; k < d; k++) ss += x[k] * x[k];
    float scale = 1.0f / sqrtf(ss / (float)d + eps);
    __m256 sv = _mm256_set1_ps(scale);
    for (k = 0; k + 8 <= d; k += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + k), sv);
        if (weight) v = _mm256_mul_ps(v, _mm256_loadu_ps(weight + k));
        _mm256_storeu_ps(y + k, v);
    }
    for (; k < d; k++) y[k] = x[k] * scale * (weight ? weight[k] : 1.0f);
}

AVX2 static void softmax_row(const float *x, size_t valid, size_t cols, float *y) {
    size_t k = 0;
    __m256 mv = _mm256_set1_ps(x[0]);
    for (; k + 8 <= valid; k += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + k));
    float max = hmax(mv);
    for (; k < valid; k++) max = x[k] > max ? x[k] : max;
    mv = _mm256_set1_ps(max);
    __m256 sv = _mm256_setzero_ps();
    for (k = 0; k + 8 <= valid; k += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + k), mv));
        _mm256_storeu_ps(y + k, e);
        sv = _mm256_add_ps(sv, e);
    }
    float sum = hsum(sv);
    for (; k < valid; k++) { y[k] = expf(x[k] - max); sum += y[k]; }
    __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (k = 0; k + 8 <= valid; k += 8) _mm256_storeu_ps(y + k, _mm256_mul_ps(_mm256_loadu_ps(y + k), inv));
    for (; k < valid; k++) y[k] *= 1.0f / sum;
    for (k = valid; k < cols; k++) y[k] = 0.0f;
}

AVX2 static void rope_row(float *x, const float *cosd, const float *sind, size_t rot,
                          tern_rope_layout layout) {
    size_t half = rot / 2, i = 0;
    if (layout == TERN_ROPE_NEOX) {
        float *xa = x, *xb = x + half;
        for (; i + 8 <= half; i += 8) {
            __m256 a = _mm256_loadu_ps(xa + i), b = _mm256_loadu_ps(xb + i);
            _mm256_storeu_ps(xa + i, _mm256_fmadd_ps(b, _mm256_loadu_ps(sind + i), _mm256_mul_ps(a, _mm256_loadu_ps(cosd + i))));
            _mm256_storeu_ps(xb + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(sind + half + i), _mm256_mul_ps(b, _mm256_loadu_ps(cosd + half + i))));
        }
        for (; i < half; i++) {
            float a = xa[i], b = xb[i];
            xa[i] = a * cosd[i] + b * sind[i];
            xb[i] = b * cosd[half + i] + a * sind[half + i];
        }
    } else {
        size_t k = 0;
        for (; k + 8 <= rot; k += 8) {
            __m256 v = _mm256_loadu_ps(x + k), swapped = _mm256_permute_ps(v, 0xB1);
            _mm256_storeu_ps(x + k, _mm256_fmadd_ps(swapped, _mm256_loadu_ps(sind + k), _mm256_mul_ps(v, _mm256_loadu_ps(cosd + k))));
        }
        for (; k < rot; k += 2) {
            float a = x[k], b = x[k + 1];
            x[k] = a * cosd[k] + b * sind[k];
            x[k + 1] = b * cosd[k + 1] + a * sind[k + 1];
        }
    }
}

AVX2 static inline __m256 act8(tern_ffn_activation act, __m256 v) {
    if (act == TERN_ACT_SILU) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), v));
        return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    }
    __m256 r = _mm256_max_ps(v, _mm256_setzero_ps());
    return _mm256_mul_ps(r, r);
}

AVX2 static void activate(tern_ffn_activation act, const float *x, size_t n, float *y) {
    size_t k = 0;
    for (; k + 8 <= n; k += 8) _mm256_storeu_ps(y + k, act8(act, _mm256_loadu_ps(x + k)));
    for (; k < n; k++) y[k] = act == TERN_ACT_SILU ? tern_silu_scalar(x[k]) : tern_relu2_scalar(x[k]);
}

AVX2 static void gated(tern_ffn_activation act, const float *gate, const float *up, size_t n, float *y) {
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        _mm256_storeu_ps(y + k, _mm256_mul_ps(act8(act, _mm256_loadu_ps(gate + k)), _mm256_loadu_ps(up + k)));
    for (; k < n; k++)
        y[k] = (act == TERN_ACT_SILU ? tern_silu_scalar(gate[k]) : tern_relu2_scalar(gate[k])) * up[k];
}

const tern_float_kernels tern_float_kernels_avx2 = {
    gemm_cols, convert_row, accumulate_tile, rmsnorm_row, softmax_row, rope_row, activate, gated,
};
#endif
