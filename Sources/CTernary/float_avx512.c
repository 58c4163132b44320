// AVX-512 (F/BW/VL) variant of the float kernels: 16 floats per vector, masked tails.
// BF16 weights use vdpbf16ps (AVX512_BF16) when the dispatcher supplied X in BF16.
#include "float_variants.h"
#include "float_half.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")))

AVX512 static inline __mmask16 tail_mask(size_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

/// e^x, same polynomial as the AVX2 variant; exactly 0 below -87.33.
AVX512 static inline __m512 exp16(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.33654f);
    __mmask16 underflow = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), _mm512_set1_ps(88.0f));
    __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps((__mmask16)~underflow, p, _mm512_castsi512_ps(e));
}

/// Up to 16 weights starting at w[k] (lanes beyond the mask are 0).
AVX512 static inline __m512 load_w(tern_float_type t, const void *w, size_t k, __mmask16 m) {
    switch (t) {
    case TERN_F16:
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + k));
    case TERN_BF16:
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + k)), 16));
    default: return _mm512_maskz_loadu_ps(m, (const float *)w + k);
    }
}

AVX512 static void gemm_cols_f32acc(const tern_gemm_job *job, size_t j0, size_t j1) {
    const size_t in = job->in, es = job->wtype == TERN_F32 ? 4 : 2;
    const tern_float_type t = job->wtype;
    for (size_t i = 0; i < job->n; i++) {
        const float *x = job->x + i * in;
        float *y = job->y + i * job->out;
        size_t j = j0;
        for (; j + 4 <= j1; j += 4) {
            const char *w0 = (const char *)job->w + j * in * es;
            const void *w1 = w0 + in * es, *w2 = w0 + 2 * in * es, *w3 = w0 + 3 * in * es;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t k = 0; k < in; k += 16) {
                __mmask16 m = tail_mask(in - k);
                __m512 xv = _mm512_maskz_loadu_ps(m, x + k);
                a0 = _mm512_fmadd_ps(xv, load_w(t, w0, k, m), a0);
                a1 = _mm512_fmadd_ps(xv, load_w(t, w1, k, m), a1);
                a2 = _mm512_fmadd_ps(xv, load_w(t, w2, k, m), a2);
                a3 = _mm512_fmadd_ps(xv, load_w(t, w3, k, m), a3);
            }
            y[j] = _mm512_reduce_add_ps(a0); y[j + 1] = _mm512_reduce_add_ps(a1);
            y[j + 2] = _mm512_reduce_add_ps(a2); y[j + 3] = _mm512_reduce_add_ps(a3);
        }
        for (; j < j1; j++) {
            const void *w0 = (const char *)job->w + j * in * es;
            __m512 a0 = _mm512_setzero_ps();
            for (size_t k = 0; k < in; k += 16) {
                __mmask16 m = tail_mask(in - k);
                a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + k), load_w(t, w0, k, m), a0);
            }
            y[j] = _mm512_reduce_add_ps(a0);
        }
    }
}

AVX512BF16 static inline __mmask32 tail_mask32(size_t left) {
    return left >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << left) - 1);
}

/// BF16 × BF16 pairs with F32 accumulation (vdpbf16ps), 4 weight rows at a time.
AVX512BF16 static void gemm_cols_bf16(const tern_gemm_job *job, size_t j0, size_t j1) {
    const size_t in = job->in;
    for (size_t i = 0; i < job->n; i++) {
        const uint16_t *x = job->xb + i * in;
        float *y = job->y + i * job->out;
        size_t j = j0;
        for (; j < j1; j += 4) {
            size_t rows = j1 - j < 4 ? j1 - j : 4;
            __m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
            for (size_t k = 0; k < in; k += 32) {
                __mmask32 m = tail_mask32(in - k);
                __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(m, x + k);
                for (size_t r = 0; r < rows; r++) {
                    const uint16_t *w = (const uint16_t *)job->w + (j + r) * in + k;
                    acc[r] = _mm512_dpbf16_ps(acc[r], xv, (__m512bh)_mm512_maskz_loadu_epi16(m, w));
                }
            }
            for (size_t r = 0; r < rows; r++) y[j + r] = _mm512_reduce_add_ps(acc[r]);
        }
    }
}

AVX512 static void gemm_cols(const tern_gemm_job *job, size_t j0, size_t j1) {
    if (job->xb) gemm_cols_bf16(job, j0, j1);
    else gemm_cols_f32acc(job, j0, j1);
}

AVX512 static void convert_row(tern_float_type wtype, const void *src, float *dst, size_t n) {
    for (size_t k = 0; k < n; k += 16) {
        __mmask16 m = tail_mask(n - k);
        _mm512_mask_storeu_ps(dst + k, m, load_w(wtype, src, k, m));
    }
}

/// 4 (or fewer) rows × 32 columns of DX held in registers over the whole depth.
AVX512 static inline __attribute__((always_inline)) void tile_block(
    int rows, const float *g, size_t ldg, const float *t, size_t depth, float *dx, size_t ldx, size_t len,
    __mmask16 m0, __mmask16 m1) {
    __m512 acc[4][2];
    for (int r = 0; r < rows; r++) {
        acc[r][0] = _mm512_maskz_loadu_ps(m0, dx + r * ldx);
        acc[r][1] = _mm512_maskz_loadu_ps(m1, dx + r * ldx + 16);
    }
    for (size_t o = 0; o < depth; o++) {
        __m512 t0 = _mm512_maskz_loadu_ps(m0, t + o * len), t1 = _mm512_maskz_loadu_ps(m1, t + o * len + 16);
        for (int r = 0; r < rows; r++) {
            __m512 gv = _mm512_set1_ps(g[r * ldg + o]);
            acc[r][0] = _mm512_fmadd_ps(gv, t0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(gv, t1, acc[r][1]);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm512_mask_storeu_ps(dx + r * ldx, m0, acc[r][0]);
        _mm512_mask_storeu_ps(dx + r * ldx + 16, m1, acc[r][1]);
    }
}

AVX512 static void accumulate_tile(const float *g, size_t ldg, size_t rows, const float *t, size_t depth,
                                   float *dx, size_t ldx, size_t len) {
    for (size_t r = 0; r < rows; r += 4) {
        size_t nr = rows - r < 4 ? rows - r : 4;
        const float *gr = g + r * ldg;
        float *dr = dx + r * ldx;
        for (size_t k = 0; k < len; k += 32) {
            __mmask16 m0 = tail_mask(len - k), m1 = len - k > 16 ? tail_mask(len - k - 16) : 0;
            switch (nr) {
            case 4: tile_block(4, gr, ldg, t + k, depth, dr + k, ldx, len, m0, m1); break;
            case 3: tile_block(3, gr, ldg, t + k, depth, dr + k, ldx, len, m0, m1); break;
            case 2: tile_block(2, gr, ldg, t + k, depth, dr + k, ldx, len, m0, m1); break;
            default: tile_block(1, gr, ldg, t + k, depth, dr + k, ldx, len, m0, m1); break;
            }
        }
    }
}

AVX512 static void rmsnorm_row(const float *x, const float *weight, float eps, size_t d, float *y) {
    __m512 acc = _mm512_setzero_ps();
    for (size_t k = 0; k < d; k += 16) {
        __m512 v = _mm512_maskz_loadu_ps(tail_mask(d - k), x + k);
        acc = _mm512_fmadd_ps(v, v, acc);
    }
    __m512 sv = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(acc) / (float)d + eps));
    for (size_t k = 0; k < d; k += 16) {
        __mmask16 m = tail_mask(d - k);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + k), sv);
        if (weight) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, weight + k));
        _mm512_mask_storeu_ps(y + k, m, v);
    }
}

AVX512 static void softmax_row(const float *x, size_t valid, size_t cols, float *y) {
    __m512 mv = _mm512_set1_ps(x[0]);
    for (size_t k = 0; k < valid; k += 16) mv = _mm512_max_ps(mv, _mm512_mask_loadu_ps(mv, tail_mask(valid - k), x + k));
    mv = _mm512_set1_ps(_mm512_reduce_max_ps(mv));
    __m512 sv = _mm512_setzero_ps();
    for (size_t k = 0; k < valid; k += 16) {
        __mmask16 m = tail_mask(valid - k);
        __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + k), mv)));
        _mm512_mask_storeu_ps(y + k, m, e);
        sv = _mm512_add_ps(sv, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sv));
    for (size_t k = 0; k < valid; k += 16) {
        __mmask16 m = tail_mask(valid - k);
        _mm512_mask_storeu_ps(y + k, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + k), inv));
    }
    for (size_t k = valid; k < cols; k++) y[k] = 0.0f;
}

AVX512 static void rope_row(float *x, const float *cosd, const float *sind, size_t rot,
                            tern_rope_layout layout) {
    size_t half = rot / 2;
    if (layout == TERN_ROPE_NEOX) {
        float *xa = x, *xb = x + half;
        for (size_t i = 0; i < half; i += 16) {
            __mmask16 m = tail_mask(half - i);
            __m512 a = _mm512_maskz_loadu_ps(m, xa + i), b = _mm512_maskz_loadu_ps(m, xb + i);
            _mm512_mask_storeu_ps(xa + i, m, _mm512_fmadd_ps(b, _mm512_maskz_loadu_ps(m, sind + i), _mm512_mul_ps(a, _mm512_maskz_loadu_ps(m, cosd + i))));
            _mm512_mask_storeu_ps(xb + i, m, _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, sind + half + i), _mm512_mul_ps(b, _mm512_maskz_loadu_ps(m, cosd + half + i))));
        }
    } else {
        for (size_t k = 0; k < rot; k += 16) {
            __mmask16 m = tail_mask(rot - k);
            __m512 v = _mm512_maskz_loadu_ps(m, x + k), swapped = _mm512_permute_ps(v, 0xB1);
            _mm512_mask_storeu_ps(x + k, m, _mm512_fmadd_ps(swapped, _mm512_maskz_loadu_ps(m, sind + k), _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, cosd + k))));
        }
    }
}

AVX512 static inline __m512 act16(tern_ffn_activation act, __m512 v) {
    if (act == TERN_ACT_SILU) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), v));
        return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    }
    __m512 r = _mm512_max_ps(v, _mm512_setzero_ps());
    return _mm512_mul_ps(r, r);
}

AVX512 static void activate(tern_ffn_activation act, const float *x, size_t n, float *y) {
    for (size_t k = 0; k < n; k += 16) {
        __mmask16 m = tail_mask(n - k);
        _mm512_mask_storeu_ps(y + k, m, act16(act, _mm512_maskz_loadu_ps(m, x + k)));
    }
}

AVX512 static void gated(tern_ffn_activation act, const float *gate, const float *up, size_t n, float *y) {
    for (size_t k = 0; k < n; k += 16) {
        __mmask16 m = tail_mask(n - k);
        _mm512_mask_storeu_ps(y + k, m, _mm512_mul_ps(act16(act, _mm512_maskz_loadu_ps(m, gate + k)), _mm512_maskz_loadu_ps(m, up + k)));
    }
}

const tern_float_kernels tern_float_kernels_avx512 = {
    gemm_cols, convert_row, accumulate_tile, rmsnorm_row, softmax_row, rope_row, activate, gated,
};
#endif
