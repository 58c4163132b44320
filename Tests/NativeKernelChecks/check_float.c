// Native checks of the float and block-quant kernels: the NEON variants against the scalar
// reference (ragged shapes), thread-count invariance, and bit-exact dequantization on
// AArch64 (where a fused multiply-add would change ggml's rounding).
#include "native_checks.h"
#include "tern_kernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Second block of Tests/TernKernelsTests/Fixtures/{q4_1,q4_k}.blocks and the float32 bits
// gguf-py dequantizes it to.
static const uint8_t q4_1_block[20] = {
    0, 186, 9, 39, 226, 178, 15, 73, 17, 251, 188, 111, 101, 71, 80, 9, 93, 79, 62, 245,
};
static const uint32_t q4_1_bits[32] = {
    0xbfbc7b80, 0xbfbc7b80, 0xc1338f70, 0xc0d71ee0, 0xbf38f700, 0xc1038f70, 0xc10f8f70, 0xc1338f70,
    0xc06e3dc0, 0xc0a71ee0, 0x3ce12000, 0xc0d71ee0, 0xc11b8f70, 0xc1338f70, 0xc1278f70, 0xc06e3dc0,
    0xc1278f70, 0xc1038f70, 0x3ce12000, 0xc03e3dc0, 0xbf38f700, 0xc1338f70, 0xc1038f70, 0xc08f1ee0,
    0xc08f1ee0, 0xc03e3dc0, 0xc06e3dc0, 0x3ce12000, 0xc06e3dc0, 0xc03e3dc0, 0xc00e3dc0, 0xc1338f70,
};
static const uint8_t q4_k_block[144] = {
    0, 186, 15, 32, 59, 168, 25, 172, 249, 222, 114, 190, 107, 158, 136, 83, 21, 108, 98, 94, 219, 240, 60, 80,
    159, 146, 231, 89, 238, 206, 37, 195, 14, 237, 92, 153, 112, 157, 254, 81, 69, 198, 240, 63, 78, 7, 221, 9,
    111, 67, 134, 170, 28, 252, 244, 30, 198, 181, 24, 82, 86, 7, 10, 218, 91, 120, 13, 62, 24, 145, 217, 194,
    148, 63, 173, 190, 67, 66, 76, 30, 207, 139, 131, 84, 137, 115, 150, 58, 40, 238, 216, 136, 91, 113, 60, 77,
    250, 108, 103, 97, 171, 189, 83, 207, 104, 43, 104, 243, 88, 160, 99, 238, 207, 108, 254, 171, 180, 221, 151, 38,
    87, 42, 224, 135, 253, 53, 226, 186, 68, 44, 215, 175, 172, 4, 175, 231, 135, 59, 242, 26, 90, 214, 55, 173,
};
static const uint32_t q4_k_bits[256] = {
    0xc35db3ac, 0xc404dceb, 0xc2b1e757, 0xc41afceb, 0xc3f399d6, 0xbee75700, 0xc404dceb, 0xbee75700,
    0xc4260ceb, 0xc2b1e757, 0xc39b19d6, 0xc3c759d6, 0xc41afceb, 0xc41afceb, 0xc35db3ac, 0xc30533ac,
    0xc41afceb, 0xc40feceb, 0xc404dceb, 0xc3c759d6, 0xbee75700, 0xc40feceb, 0xc41afceb, 0xc232ceae,
    0xc35db3ac, 0xc384f9d6, 0xbee75700, 0xc4260ceb, 0xc41afceb, 0xc39b19d6, 0xc40feceb, 0xc3c759d6,
    0xc1f1e708, 0xc3343ce1, 0xc3343ce1, 0xc3163ce1, 0xc3c31e70, 0xc3e11e70, 0xc2b479c2, 0xc3163ce1,
    0xc3871e70, 0xc3871e70, 0xc3d21e70, 0xc3163ce1, 0xc3d21e70, 0xc3b41e70, 0xc270f384, 0xc3b41e70,
    0xbe738400, 0xc3d21e70, 0xc3163ce1, 0xc3871e70, 0xc3523ce1, 0xc3871e70, 0xc3e11e70, 0xc3163ce1,
    0xc2f079c2, 0xc3b41e70, 0xc3e11e70, 0xc2b479c2, 0xc2f079c2, 0xbe738400, 0xc3c31e70, 0xbe738400,
    0xc38cd2bc, 0xc26295dc, 0xc2e1caee, 0xc33be577, 0xc3616577, 0xc3616577, 0xc296caee, 0xc38372bc,
    0xc2e1caee, 0xc2bc4aee, 0xc3166577, 0xc21795dc, 0xc2e1caee, 0xc303a577, 0xc33be577, 0xc33be577,
    0xc34ea577, 0xc3166577, 0xc3742577, 0xc38372bc, 0xc3166577, 0xc1992bb8, 0xc3292577, 0xc21795dc,
    0xc296caee, 0xc38cd2bc, 0xc3742577, 0xc38372bc, 0xc26295dc, 0xc21795dc, 0xc3616577, 0xc38372bc,
    0xc3467dd1, 0xc3047dd1, 0xc3843ee8, 0xc3a53ee8, 0xc205f744, 0xc3f7bee8, 0xc3f7bee8, 0xc205f744,
    0xc3c63ee8, 0xc3b5bee8, 0xc205f744, 0xc3257dd1, 0xc3257dd1, 0xbefba200, 0xbefba200, 0xc3d6bee8,
    0xc3257dd1, 0xc3677dd1, 0xbefba200, 0xc2c6fba2, 0xc205f744, 0xc394bee8, 0xc3d6bee8, 0xc3c63ee8,
    0xc394bee8, 0xc2c6fba2, 0xc3a53ee8, 0xc3b5bee8, 0xc3047dd1, 0xc3047dd1, 0xc3047dd1, 0xc205f744,
    0xc2f85b2a, 0xc2b65b2a, 0xc1c96ca8, 0xc205b654, 0xc2955b2a, 0xc1c96ca8, 0xc247b654, 0xc2a5db2a,
    0xc284db2a, 0xc2e7db2a, 0xc284db2a, 0xc284db2a, 0xc2b65b2a, 0xc10ad950, 0xc2c6db2a, 0xc2d75b2a,
    0xc2a5db2a, 0xc2c6db2a, 0xc268b654, 0xc10ad950, 0xc2b65b2a, 0xc2d75b2a, 0xc1c96ca8, 0xc2f85b2a,
    0xc284db2a, 0xc2b65b2a, 0xc284db2a, 0xc1c96ca8, 0xc284db2a, 0xbedb2a00, 0xc1c96ca8, 0xc2e7db2a,
    0xc3cf39d6, 0xc38a39d6, 0xc38a39d6, 0xc32cf3ac, 0xc38a39d6, 0xc371f3ac, 0xc39b79d6, 0xc2cfe757,
    0xc28ae757, 0xc3f1b9d6, 0xc3e079d6, 0xc38a39d6, 0xc32cf3ac, 0xc371f3ac, 0xc2cfe757, 0xc30a73ac,
    0xc4017ceb, 0xc34f73ac, 0xc34f73ac, 0xc34f73ac, 0xc3acb9d6, 0xc3bdf9d6, 0xc32cf3ac, 0xc3cf39d6,
    0xc34f73ac, 0xc28ae757, 0xc34f73ac, 0xc4017ceb, 0xc32cf3ac, 0xc3acb9d6, 0xc34f73ac, 0xc3f1b9d6,
    0xc2b46168, 0xc2906168, 0xc2a86168, 0xc2846168, 0xc1c185a0, 0xc29c6168, 0xc228c2d0, 0xc210c2d0,
    0xc228c2d0, 0xc270c2d0, 0xbe42d000, 0xc228c2d0, 0xc29c6168, 0xc1f185a0, 0xc1430b40, 0xc270c2d0,
    0xc1c185a0, 0xc2906168, 0xc228c2d0, 0xc2b46168, 0xc2906168, 0xc1c185a0, 0xc2b46168, 0xc228c2d0,
    0xc228c2d0, 0xc2846168, 0xc1430b40, 0xc270c2d0, 0xc270c2d0, 0xc210c2d0, 0xc228c2d0, 0xc29c6168,
    0xc39da58b, 0xc31dcb16, 0xc3c5058b, 0xc383658b, 0xc390858b, 0xc3aac58b, 0xc36c8b16, 0xc2532c56,
    0xc3038b16, 0xc2532c56, 0xc3b7e58b, 0xc3524b16, 0xc3c5058b, 0xc29e162b, 0xc3b7e58b, 0xc390858b,
    0xc2d2962b, 0xc2532c56, 0xc3aac58b, 0xc383658b, 0xc383658b, 0xbe962b00, 0xc383658b, 0xc3b7e58b,
    0xc3524b16, 0xc29e162b, 0xc3c5058b, 0xc1d458ac, 0xc3038b16, 0xc3aac58b, 0xc29e162b, 0xc383658b,
};

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static float rnd(float scale) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return ((float)(rng_state >> 40) / (float)(1 << 24) * 2.0f - 1.0f) * scale;
}
static float *rnd_array(size_t n, float scale) {
    float *a = malloc(n * sizeof(float) + 4);
    for (size_t i = 0; i < n; i++) a[i] = rnd(scale);
    return a;
}

/// |a - b| <= tol · (|b| + floor) everywhere.
static int close_all(const float *a, const float *b, size_t n, float tol, float floor) {
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= tol * (fabsf(b[i]) + floor))) return 0;
    return 1;
}

static void check_gemm(void) {
    static const size_t shapes[][3] = { {1, 1, 1}, {1, 7, 5}, {3, 33, 17}, {2, 100, 37}, {1, 257, 9} };
    const tern_float_type types[] = { TERN_F32, TERN_F16, TERN_BF16 };
    int ok = 1, ok_t = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t n = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        for (int t = 0; t < 3; t++) {
            float *x = rnd_array(n * in, 1), *wf = rnd_array(out * in, 0.5f), *g = rnd_array(n * out, 1);
            uint16_t *wh = malloc(out * in * 2);
            if (types[t] == TERN_F16) tern_f32_to_f16_row(wf, wh, out * in);
            else tern_f32_to_bf16_row(wf, wh, out * in);
            const void *w = types[t] == TERN_F32 ? (const void *)wf : (const void *)wh;
            float *ref = malloc(n * out * 4), *got = malloc(n * out * 4);
            float *dref = malloc(n * in * 4), *dgot = malloc(n * in * 4);
            tern_gemm_f(NULL, TERN_FV_SCALAR, types[t], x, n, in, w, out, ref);
            ok &= tern_gemm_f(NULL, TERN_FV_NEON, types[t], x, n, in, w, out, got) == 0;
            ok &= close_all(got, ref, n * out, 1e-4f, 1.0f);
            tern_gemm_t_f(NULL, TERN_FV_SCALAR, types[t], g, n, out, w, in, dref);
            ok_t &= tern_gemm_t_f(NULL, TERN_FV_NEON, types[t], g, n, out, w, in, dgot) == 0;
            ok_t &= close_all(dgot, dref, n * in, 1e-4f, 1.0f);
            free(x); free(wf); free(g); free(wh); free(ref); free(got); free(dref); free(dgot);
        }
    }
    native_check(ok, "float: NEON gemm F32/F16/BF16 matches scalar");
    native_check(ok_t, "float: NEON transposed gemm matches scalar");
}

/// Paged attention's P·V, one KV block at a time: the accumulating product over row blocks
/// gives the bits of one product over all rows, and matches scalar.
static void check_gemm_t_acc(void) {
    enum { N = 12, OUT = 50, IN = 128, SPLIT = 16 };
    float *g = rnd_array(N * OUT, 1), *w = rnd_array(OUT * IN, 1), part[N * SPLIT];
    float whole[N * IN], blocks[N * IN], ref[N * IN];
    memset(blocks, 0, sizeof blocks);
    int ok = tern_gemm_t_f(NULL, TERN_FV_NEON, TERN_F32, g, N, OUT, w, IN, whole) == 0;
    for (int start = 0; start < OUT; start += SPLIT) {
        int rows = OUT - start < SPLIT ? OUT - start : SPLIT;
        for (int i = 0; i < N; i++) for (int o = 0; o < rows; o++) part[i * rows + o] = g[i * OUT + start + o];
        ok &= tern_gemm_t_acc_f(NULL, TERN_FV_NEON, part, N, rows, w + start * IN, IN, blocks) == 0;
    }
    ok &= memcmp(whole, blocks, sizeof whole) == 0;
    tern_gemm_t_f(NULL, TERN_FV_SCALAR, TERN_F32, g, N, OUT, w, IN, ref);
    ok &= close_all(blocks, ref, N * IN, 1e-4f, 1.0f);
    free(g); free(w);
    native_check(ok, "float: NEON accumulating transposed gemm over blocks equals one product, matches scalar");
}

static void check_rows(void) {
    enum { ROWS = 3, D = 37 };
    float *x = rnd_array(ROWS * D, 8), *wt = rnd_array(D, 1), ref[ROWS * D], got[ROWS * D];
    tern_rmsnorm(TERN_FV_SCALAR, x, wt, 1e-5f, ROWS, D, ref);
    tern_rmsnorm(TERN_FV_NEON, x, wt, 1e-5f, ROWS, D, got);
    native_check(close_all(got, ref, ROWS * D, 1e-5f, 1e-3f), "float: NEON rmsnorm matches scalar");

    int ok = 1;
    for (long offset = -1; offset <= 2; offset += 3) {
        tern_softmax(TERN_FV_SCALAR, x, ROWS, D, offset, ref);
        tern_softmax(TERN_FV_NEON, x, ROWS, D, offset, got);
        ok &= close_all(got, ref, ROWS * D, 1e-5f, 1e-7f);
        for (int r = 0; r < ROWS; r++) {
            float sum = 0;
            for (int k = 0; k < D; k++) sum += got[r * D + k];
            ok &= fabsf(sum - 1.0f) < 1e-5f;
            if (offset >= 0) for (int k = r + (int)offset + 1; k < D; k++) ok &= got[r * D + k] == 0.0f;
        }
    }
    native_check(ok, "float: NEON softmax (plain and causal) matches scalar, rows sum to 1");

    const int32_t pos[2] = { 3, 700 };
    ok = 1;
    for (int layout = 0; layout < 2; layout++) {
        float a[2 * 2 * 18], b[2 * 2 * 18];
        memcpy(a, x, sizeof a);
        memcpy(b, x, sizeof b);
        tern_rope(TERN_FV_SCALAR, a, 2, 2, 18, 14, pos, 10000.0f, (tern_rope_layout)layout, 0);
        tern_rope(TERN_FV_NEON, b, 2, 2, 18, 14, pos, 10000.0f, (tern_rope_layout)layout, 0);
        ok &= close_all(b, a, 2 * 2 * 18, 1e-5f, 1.0f);
    }
    native_check(ok, "float: NEON RoPE (adjacent and neox) matches scalar");

    ok = 1;
    for (int act = 0; act < 2; act++) {
        tern_activate(TERN_FV_SCALAR, (tern_ffn_activation)act, x, ROWS * D, ref);
        tern_activate(TERN_FV_NEON, (tern_ffn_activation)act, x, ROWS * D, got);
        ok &= close_all(got, ref, ROWS * D, 2e-6f, 1e-6f);
        tern_gated(TERN_FV_SCALAR, (tern_ffn_activation)act, x, wt, D, ref);
        tern_gated(TERN_FV_NEON, (tern_ffn_activation)act, x, wt, D, got);
        ok &= close_all(got, ref, D, 2e-6f, 1e-6f);
    }
    native_check(ok, "float: NEON SiLU / ReLU² / gated match scalar");
    free(x); free(wt);
}

static void check_dequantize(void) {
    float out[256];
    tern_dequantize(TERN_Q4_1, q4_1_block, out, 32);
    native_check(memcmp(out, q4_1_bits, sizeof q4_1_bits) == 0, "quant: Q4_1 dequantization bit-exact with gguf-py");
    tern_dequantize(TERN_Q4_K, q4_k_block, out, 256);
    native_check(memcmp(out, q4_k_bits, sizeof q4_k_bits) == 0, "quant: Q4_K dequantization bit-exact with gguf-py");
}

/// Random valid blocks: random code bytes, small f16 scales at the format's offsets.
static uint8_t *random_blocks(tern_quant_format f, size_t blocks) {
    size_t bb = tern_quant_block_bytes(f);
    uint8_t *b = malloc(blocks * bb);
    for (size_t i = 0; i < blocks * bb; i++) b[i] = (uint8_t)(rnd(1) * 128 + 128);
    size_t offs[2] = { f == TERN_Q6_K ? 208 : 0, (f == TERN_Q4_1 || f == TERN_Q4_K) ? 2 : (size_t)-1 };
    for (size_t i = 0; i < blocks; i++)
        for (int k = 0; k < 2; k++)
            if (offs[k] != (size_t)-1) {
                uint16_t h = tern_f32_to_f16(rnd(0.01f));
                memcpy(b + i * bb + offs[k], &h, 2);
            }
    return b;
}

static void check_quant_gemm(void) {
    const tern_quant_format formats[] = { TERN_Q8_0, TERN_Q4_0, TERN_Q4_1, TERN_Q4_K, TERN_Q6_K };
    enum { N = 3, IN = 512, OUT = 37 };
    tern_pool *pool = tern_pool_create(3);
    int ok = 1, same = 1, ok_t = 1;
    float *x = rnd_array(N * IN, 1);
    for (int fi = 0; fi < 5; fi++) {
        tern_quant_format f = formats[fi];
        uint8_t *w = random_blocks(f, OUT * IN / tern_quant_block_elements(f));
        float ref[N * OUT], got[N * OUT], pooled[N * OUT];
        tern_gemm_q(NULL, TERN_FV_SCALAR, f, x, N, IN, w, OUT, ref);
        ok &= tern_gemm_q(NULL, TERN_FV_NEON, f, x, N, IN, w, OUT, got) == 0;
        tern_gemm_q(pool, TERN_FV_NEON, f, x, N, IN, w, OUT, pooled);
        float scale = 0;
        for (int i = 0; i < N * OUT; i++) scale = fmaxf(scale, fabsf(ref[i]));
        ok &= close_all(got, ref, N * OUT, 1e-5f, scale);
        same &= memcmp(got, pooled, sizeof got) == 0;
        float g[N * OUT], *dref = malloc(N * IN * 4), *dgot = malloc(N * IN * 4);
        for (int i = 0; i < N * OUT; i++) g[i] = rnd(1);
        tern_gemm_t_q(NULL, TERN_FV_SCALAR, f, g, N, OUT, w, IN, dref);
        tern_gemm_t_q(pool, TERN_FV_NEON, f, g, N, OUT, w, IN, dgot);
        ok_t &= close_all(dgot, dref, N * IN, 1e-4f, 1e-2f);
        free(w); free(dref); free(dgot);
    }
    native_check(ok, "quant: NEON Q8_0/Q4_0/Q4_1/Q4_K/Q6_K matmul matches scalar");
    native_check(same, "quant: NEON matmul identical on 1 and 3 threads");
    native_check(ok_t, "quant: NEON transposed matmul matches scalar");
    free(x);
    tern_pool_destroy(pool);
}

void native_checks_float(void) {
    native_check(tern_float_variant_supported(TERN_FV_NEON) && tern_quant_variant_supported(TERN_FV_NEON),
                 "float: NEON variants available");
    check_gemm();
    check_gemm_t_acc();
    check_rows();
    check_dequantize();
    check_quant_gemm();
}
