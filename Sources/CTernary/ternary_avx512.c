// AVX-512 VNNI variant (x86-64: AVX512F/BW/VL + VNNI). T5 bytes are decoded with byte
// adds (q*3^j mod 256) and two unsigned compares per plane, then VPDPBUSD multiplies the
// unsigned codes 0..2 with the signed int8 activations (the caller subtracts sum q).
#if defined(__x86_64__)
#include "ternary_internal.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/// Codes 0..2 of the trit held at the top of every byte of m: (m >= 86) + (m >= 171).
AVX512 static inline __m512i plane_codes(__m512i m) {
    const __m512i one = _mm512_set1_epi8(1);
    __mmask64 ge1 = _mm512_cmpge_epu8_mask(m, _mm512_set1_epi8(86));
    __mmask64 ge2 = _mm512_cmpge_epu8_mask(m, _mm512_set1_epi8((char)171));
    __m512i c = _mm512_maskz_mov_epi8(ge1, one);
    return _mm512_mask_add_epi8(c, ge2, c, one);
}

/// m -> 3m mod 256 per byte: two byte adds. The empty asm hides the result from the
/// compiler, which would otherwise rewrite a chain of them into per-plane multiplies
/// (VPMADDUBSW + shifts + masks: twice the work, on the ports VPDPBUSD needs).
AVX512 static inline __m512i times3(__m512i m) {
    __m512i r = _mm512_add_epi8(_mm512_add_epi8(m, m), m);
    __asm__("" : "+v"(r));
    return r;
}

/// GEMV without extracting trits: with m_j = q*3^j mod 256, trit j is c_j = floor(3*m_j/256)
/// and m_{j+1} = 3*m_j - 256*c_j, so c_j = (3*m_j - m_{j+1}) / 256 exactly, for every byte.
/// Hence dot(c_j, x) = (3*dot(m_j, x) - dot(m_{j+1}, x)) / 256: two VPDPBUSD on the raw
/// bytes m_j (unsigned) per plane, and the only decode work left is m -> 3m (two adds).
///
/// The identity holds lane by lane: in every int32 lane, 3*a - b = 256 * (that lane's
/// share of dot(c, x)). VPDPBUSD wraps modulo 2^32, so a and b may wrap freely; 3*a - b is
/// still exact while its true value fits in int32. One group adds at most
/// 5 planes * 4 bytes * 2 * 127 * 256 = 1.3 M to it, so every GEMV_FOLD_GROUPS groups the
/// lanes are folded: (3*a - b) >> 8 (exact) joins an int32 lane total of the plain dot.
///
/// Latency, not throughput, bounds a VPDPBUSD chain (4 cycles, 2 per cycle on Zen 5), so
/// at least 8 chains must be in flight: see gemv_block.
#define GEMV_FOLD_GROUPS 64

/// Weights are prefetched this far ahead of the group being multiplied: the hardware
/// prefetcher alone leaves DRAM latency exposed at every call and run boundary. Measured on
/// the 2-core Zen 5 guest (2 threads, one token, 4-row kernel, 6912x2560): 4 KB 99-100 % of
/// the stream bandwidth in its slow phase, 8 KB 100-102 % (90-95 % in the fast phase),
/// 12 KB 99-100 % (90-92 %), 16 KB 97-100 % (88-89 %), 24 KB 92-97 %. The L2 hint (T1)
/// instead of T0 was no better (row-at-a-time kernel).
#define GEMV_PREFETCH_BYTES (8 << 10)

/// Most rows multiplied together (gemv_block) and most (a, b) pairs per row and token.
#define GEMV_ROWS 4
#define GEMV_ROW_PAIRS 2

/// Rows whose int32 lanes are summed together by one transpose-and-add tree (sum16).
#define GEMV_SUM_ROWS 16

/// Loads group g of each of R rows into m and prefetches GEMV_PREFETCH_BYTES ahead, in memory
/// order across the rows' contiguous bytes. A prefetch may point past the matrix: it never
/// faults (hence the integer address).
AVX512 static inline __attribute__((always_inline)) void load_group(const uint8_t *const *rows, size_t g, const int R, __m512i *m) {
    for (int r = 0; r < R; r++) {
        m[r] = _mm512_loadu_si512(rows[r] + g * TERN_T5_GROUP_BYTES);
        _mm_prefetch((const char *)((uintptr_t)rows[0] + (g * (size_t)R + (size_t)r) * TERN_T5_GROUP_BYTES + GEMV_PREFETCH_BYTES),
                     _MM_HINT_T0);
    }
}

/// Per-lane exact dots (already >> 8) of R rows `rows[r]` with nt tokens (rows of `stride`
/// bytes): lanes[t][k + r]. Plane j of a row feeds pair j % P. Weights are prefetched in memory
/// order across the rows' contiguous bytes (line r of step g is g * R + r past the first
/// row), not row by row: four interleaved prefetch streams 512 bytes apart read DRAM up to
/// 15 % slower when the memory is the limit.
AVX512 static inline __attribute__((always_inline)) void gemv_row_lanes(const uint8_t *const *rows, const int8_t *q, size_t stride,
                                                                        size_t groups, const int R, const int nt, const int P,
                                                                        __m512i lanes[][GEMV_SUM_ROWS], size_t k) {
    for (int t = 0; t < nt; t++)
        for (int r = 0; r < R; r++) lanes[t][k + r] = _mm512_setzero_si512();
    for (size_t g0 = 0; g0 < groups; g0 += GEMV_FOLD_GROUPS) {
        size_t g1 = groups - g0 < GEMV_FOLD_GROUPS ? groups : g0 + GEMV_FOLD_GROUPS;
        __m512i a[GEMV_ROWS][TERN_GEMV_TOKENS][GEMV_ROW_PAIRS], b[GEMV_ROWS][TERN_GEMV_TOKENS][GEMV_ROW_PAIRS];
        for (int r = 0; r < R; r++)
            for (int t = 0; t < nt; t++)
                for (int p = 0; p < P; p++) a[r][t][p] = b[r][t][p] = _mm512_setzero_si512();
        for (size_t g = g0; g < g1; g++) {
            __m512i m[GEMV_ROWS];
            load_group(rows, g, R, m);
#pragma GCC unroll 5
            for (int j = 0; j < 5; j++) {
                __m512i xv[TERN_GEMV_TOKENS];
                for (int t = 0; t < nt; t++) xv[t] = _mm512_loadu_si512(q + (size_t)t * stride + g * TERN_T5_GROUP + j * 64);
                for (int r = 0; r < R; r++) {
                    __m512i next = times3(m[r]);
                    for (int t = 0; t < nt; t++) {
                        a[r][t][j % P] = _mm512_dpbusd_epi32(a[r][t][j % P], m[r], xv[t]);
                        b[r][t][j % P] = _mm512_dpbusd_epi32(b[r][t][j % P], next, xv[t]);
                    }
                    m[r] = next;
                }
            }
        }
        for (int r = 0; r < R; r++)
            for (int t = 0; t < nt; t++) {
                __m512i sa = a[r][t][0], sb = b[r][t][0];
                for (int p = 1; p < P; p++) sa = _mm512_add_epi32(sa, a[r][t][p]), sb = _mm512_add_epi32(sb, b[r][t][p]);
                __m512i exact = _mm512_sub_epi32(_mm512_add_epi32(_mm512_add_epi32(sa, sa), sa), sb);
                lanes[t][k + r] = _mm512_add_epi32(lanes[t][k + r], _mm512_srai_epi32(exact, 8));
            }
    }
}

/// Rows the decoded kernel multiplies together (2 rows x 8 tokens = 16 accumulators).
#define GEMV_DECODED_ROWS 2
/// Tokens the decoded kernel takes at once.
#define GEMV_DECODED_TOKENS 8

/// Per-lane exact dots of R rows with nt tokens (3 to 8), as gemv_row_lanes gives, but with
/// the codes decoded first. With several tokens the multiplies are the work, not the decode:
/// the pair identity above costs two VPDPBUSD per plane, row and token; decoding plane j's
/// codes (two compares, a masked move and a masked add, then m -> 3m for the next plane: all
/// on ports VPDPBUSD does not need) costs one per plane and row, shared by every token, and
/// leaves one VPDPBUSD per plane, row and token. The codes are 0..2, so a group adds at most
/// 5 * 4 * 2 * 128 to a lane: no fold is needed for any row length that fits in memory.
AVX512 static inline __attribute__((always_inline)) void gemv_decoded_lanes(const uint8_t *const *rows, const int8_t *q, size_t stride,
                                                                            size_t groups, const int R, const int nt,
                                                                            __m512i lanes[][GEMV_SUM_ROWS], size_t k) {
    __m512i acc[GEMV_DECODED_ROWS][GEMV_DECODED_TOKENS];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < nt; t++) acc[r][t] = _mm512_setzero_si512();
    for (size_t g = 0; g < groups; g++) {
        __m512i m[GEMV_DECODED_ROWS];
        load_group(rows, g, R, m);
#pragma GCC unroll 5
        for (int j = 0; j < 5; j++) {
            __m512i c[GEMV_DECODED_ROWS];
            for (int r = 0; r < R; r++) {
                c[r] = plane_codes(m[r]);
                if (j < 4) m[r] = times3(m[r]);
            }
            for (int t = 0; t < nt; t++) {
                __m512i xv = _mm512_loadu_si512(q + (size_t)t * stride + g * TERN_T5_GROUP + j * 64);
                for (int r = 0; r < R; r++) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], c[r], xv);
            }
        }
    }
    for (int t = 0; t < nt; t++)
        for (int r = 0; r < R; r++) lanes[t][k + r] = acc[r][t];
}

/// Dword i of the result = the sum of the 16 dwords of v[i]: a transpose-and-add tree,
/// 45 operations for 16 rows instead of 8 per row for separate horizontal sums.
AVX512 static inline __m512i sum16(const __m512i v[GEMV_SUM_ROWS]) {
    __m512i s[8], t[4], u[2];
    for (int i = 0; i < 8; i++) // dword 4L + k of lane L: rows 2i, 2i+1 alternating
        s[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) // every 128-bit lane: rows 4i .. 4i+3
        t[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(s[2 * i], s[2 * i + 1]), _mm512_unpackhi_epi64(s[2 * i], s[2 * i + 1]));
    for (int i = 0; i < 2; i++) // lanes: rows 8i..8i+3 twice, then 8i+4..8i+7 twice
        u[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(t[2 * i], t[2 * i + 1], 0x88), _mm512_shuffle_i32x4(t[2 * i], t[2 * i + 1], 0xDD));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(u[0], u[1], 0x88), _mm512_shuffle_i32x4(u[0], u[1], 0xDD));
}

/// R rows are multiplied together: they share every activation load, and because their
/// chains interleave, each row and token needs only P (a, b) pairs, so its fold is cheap
/// (2(P-1) adds + 3a - b). Rows are taken GEMV_SUM_ROWS at a time and summed by one sum16
/// per token; past the last row a block repeats row n - 1 (valid memory, results dropped by
/// the masked store). Measured on the 2-core Zen 5 guest, 2 threads, against one row at a
/// time with 5 / 3 / 2 pairs per token: one token (4 rows x 2 pairs) in cache 81 -> 96 GB/s
/// (2560x6912) and 72 -> 93 (6912x2560); from DRAM, slow memory phase, two tokens
/// (4 rows x 1 pair) 39-43 -> 44-46 GB/s, three tokens (2 rows x 1 pair; 4 rows spill)
/// 27-31 -> 30-32.
///
/// `decoded`: gemv_decoded_lanes instead (P unused), for 3 to 8 tokens.
AVX512 static inline __attribute__((always_inline)) void gemv_block(const tern_t5_matrix *w, const int8_t *q, size_t stride,
                                                                    const int nt, const int R, const int P, const int decoded,
                                                                    size_t r0, size_t n, int32_t *out) {
    size_t row_bytes = tern_t5_row_bytes(w->cols), groups = row_bytes / TERN_T5_GROUP_BYTES;
    const uint8_t *first = w->packed + r0 * row_bytes;
    for (size_t i = 0; i < n; i += GEMV_SUM_ROWS) {
        __m512i lanes[GEMV_DECODED_TOKENS][GEMV_SUM_ROWS];
        for (size_t k = 0; k < GEMV_SUM_ROWS; k += (size_t)R) {
            const uint8_t *rows[GEMV_ROWS];
            for (size_t r = 0; r < (size_t)R; r++) rows[r] = first + (i + k + r < n ? i + k + r : n - 1) * row_bytes;
            if (decoded) gemv_decoded_lanes(rows, q, stride, groups, R, nt, lanes, k);
            else gemv_row_lanes(rows, q, stride, groups, R, nt, P, lanes, k);
        }
        for (int t = 0; t < nt; t++) {
            __m512i sums = sum16(lanes[t]);
            if (n - i >= GEMV_SUM_ROWS) _mm512_storeu_si512(out + (size_t)t * n + i, sums);
            else _mm512_mask_storeu_epi32(out + (size_t)t * n + i, (__mmask16)((1u << (n - i)) - 1), sums);
        }
    }
}

AVX512 static void gemv_rows(const tern_t5_matrix *w, const int8_t *q, size_t r0, size_t n, int32_t *out) {
    gemv_block(w, q, 0, 1, GEMV_ROWS, GEMV_ROW_PAIRS, 0, r0, n, out);
}

AVX512 static void gemv_tokens(const tern_t5_matrix *w, const int8_t *q, size_t stride, size_t tokens,
                               size_t r0, size_t n, int32_t *out) {
    // Decoded from 3 tokens on (2 threads, Zen 4, GOPS, pair identity -> decoded): 3 tokens
    // 440 -> 520, 4: -> 575, 8: 440 -> 690; 2 tokens 430 either way (bound by memory).
#define DECODED(NT) case NT: gemv_block(w, q, stride, NT, GEMV_DECODED_ROWS, 1, 1, r0, n, out); break;
    switch (tokens) {
    case 1: gemv_rows(w, q, r0, n, out); break;
    case 2: gemv_block(w, q, stride, 2, GEMV_ROWS, 1, 0, r0, n, out); break;
    DECODED(3) DECODED(4) DECODED(5) DECODED(6) DECODED(7)
    default: gemv_block(w, q, stride, 8, GEMV_DECODED_ROWS, 1, 1, r0, n, out); break;
    }
#undef DECODED
}

/// Transposes 16 rows of 16 dwords: out[d] holds dword d of rows 0..15.
AVX512 static inline void transpose16(const __m512i a[16], __m512i out[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(a[i], a[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(a[i], a[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) { // u[i + c], lane L: rows i..i+3 of dword 4L + c
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int c = 0; c < 4; c++) { // 4x4 transpose of 128-bit lanes
        __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44), v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
        __m512i w0 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44), w1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
        out[c] = _mm512_shuffle_i32x4(v0, w0, 0x88);
        out[4 + c] = _mm512_shuffle_i32x4(v0, w0, 0xDD);
        out[8 + c] = _mm512_shuffle_i32x4(v1, w1, 0x88);
        out[12 + c] = _mm512_shuffle_i32x4(v1, w1, 0xDD);
    }
}

/// Unpacks rows r0.. of the block straight into the VPDPBUSD tile layout: for every 4
/// columns k..k+3 (step s = k/4), the 4 code bytes of each of the 32 rows in turn (128
/// bytes per step). Each decoded plane of 16 rows is a 16x16 dword transpose.
AVX512 static void unpack_tile(const tern_t5_matrix *w, size_t r0, size_t kp, uint8_t *tile) {
    static const uint8_t zero_group[TERN_T5_GROUP_BYTES] = {
#define Z8 TERN_T5_ZERO_BYTE, TERN_T5_ZERO_BYTE, TERN_T5_ZERO_BYTE, TERN_T5_ZERO_BYTE, TERN_T5_ZERO_BYTE, TERN_T5_ZERO_BYTE, TERN_T5_ZERO_BYTE, TERN_T5_ZERO_BYTE
        Z8, Z8, Z8, Z8, Z8, Z8, Z8, Z8
#undef Z8
    };
    size_t row_bytes = tern_t5_row_bytes(w->cols), groups = row_bytes / TERN_T5_GROUP_BYTES;
    for (size_t half = 0; half < TERN_GEMM_ROW_BLOCK; half += 16) {
        const uint8_t *rows[16];
        size_t stride[16];
        for (size_t i = 0; i < 16; i++) {
            int present = r0 + half + i < w->rows;
            rows[i] = present ? w->packed + (r0 + half + i) * row_bytes : zero_group;
            stride[i] = present ? TERN_T5_GROUP_BYTES : 0;
        }
        for (size_t g = 0; g < groups; g++) {
            __m512i m[16], codes[16], out[16];
            for (int i = 0; i < 16; i++) m[i] = _mm512_loadu_si512(rows[i] + g * stride[i]);
            for (int j = 0; j < 5; j++) {
                for (int i = 0; i < 16; i++) {
                    if (j) m[i] = times3(m[i]);
                    codes[i] = plane_codes(m[i]);
                }
                transpose16(codes, out);
                size_t s0 = (g * TERN_T5_GROUP + (size_t)j * 64) / 4;
                for (int d = 0; d < 16; d++) _mm512_store_si512(tile + (s0 + (size_t)d) * 128 + half * 4, out[d]);
            }
        }
    }
    size_t padded = groups * TERN_T5_GROUP;
    memset(tile + padded * TERN_GEMM_ROW_BLOCK, 1, (kp - padded) * TERN_GEMM_ROW_BLOCK);
}

/// 32 rows x NT tokens over kp columns: two accumulators (16 rows each) per token, each
/// step multiplies a 128-byte tile slice by 4 broadcast activation bytes of every token.
#define MICRO(NT)                                                                                       \
    AVX512 static void micro_32x##NT(const uint8_t *tile, size_t kp, const int8_t *x, size_t stride, int32_t *out) { \
        __m512i lo[NT], hi[NT];                                                                         \
        for (int j = 0; j < NT; j++) lo[j] = hi[j] = _mm512_setzero_si512();                            \
        for (size_t s = 0; s < kp / 4; s++) {                                                           \
            __m512i w0 = _mm512_load_si512(tile + s * 128), w1 = _mm512_load_si512(tile + s * 128 + 64); \
            for (int j = 0; j < NT; j++) {                                                              \
                int32_t word;                                                                           \
                memcpy(&word, x + (size_t)j * stride + 4 * s, 4);                                       \
                __m512i b = _mm512_set1_epi32(word);                                                    \
                lo[j] = _mm512_dpbusd_epi32(lo[j], w0, b);                                              \
                hi[j] = _mm512_dpbusd_epi32(hi[j], w1, b);                                              \
            }                                                                                           \
        }                                                                                               \
        for (int j = 0; j < NT; j++) {                                                                  \
            _mm512_storeu_si512(out + j * TERN_GEMM_ROW_BLOCK, lo[j]);                                  \
            _mm512_storeu_si512(out + j * TERN_GEMM_ROW_BLOCK + 16, hi[j]);                             \
        }                                                                                               \
    }
MICRO(8)
MICRO(4)
MICRO(1)

AVX512 static void gemm_block(const tern_t5_matrix *w, size_t r0, const tern_activations *x, uint8_t *scratch, int32_t *out) {
    size_t kp = x->stride;
    unpack_tile(w, r0, kp, scratch);
    size_t t = 0;
    for (; t + 8 <= x->tokens; t += 8) micro_32x8(scratch, kp, x->q + t * x->stride, x->stride, out + t * TERN_GEMM_ROW_BLOCK);
    for (; t + 4 <= x->tokens; t += 4) micro_32x4(scratch, kp, x->q + t * x->stride, x->stride, out + t * TERN_GEMM_ROW_BLOCK);
    for (; t < x->tokens; t++) micro_32x1(scratch, kp, x->q + t * x->stride, x->stride, out + t * TERN_GEMM_ROW_BLOCK);
}

AVX512 static int32_t tq2_block_dot(const uint8_t *qs, const int8_t *x) {
    const __m512i three = _mm512_set1_epi8(3);
    __m512i v = _mm512_loadu_si512(qs), acc = _mm512_setzero_si512();
    for (int n = 0; n < 4; n++) {
        __m512i c = _mm512_and_si512(_mm512_srli_epi16(v, 2 * n), three);
        __m512i xv = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const void *)(x + n * 32))),
                                        _mm256_loadu_si256((const void *)(x + 128 + n * 32)), 1);
        acc = _mm512_dpbusd_epi32(acc, c, xv);
    }
    return _mm512_reduce_add_epi32(acc);
}

/// The decoded GEMV runs at ~690 GOPS from 8 tokens on (2 threads, Zen 4, 2560x6912 and
/// 6912x2560); the GEMM's tiles overtake it only past ~40 tokens (651 / 721 / 755 GOPS at
/// 32 / 48 / 64). So products of up to 32 tokens stay on the GEMV path.
#define GEMV_MAX_TOKENS_DECODED 32

const tern_ternary_kernels tern_ternary_avx512vnni = {
    gemv_rows, gemv_tokens, GEMV_DECODED_TOKENS, GEMV_MAX_TOKENS_DECODED, gemm_block, tq2_block_dot };
#endif
