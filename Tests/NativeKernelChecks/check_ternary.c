// Every ternary kernel variant the CPU runs against the scalar reference: random and ragged
// shapes, edge weights and activations, GEMV and GEMM paths, TQ2_0 direct, thread counts.
#include "native_checks.h"
#include "tern_kernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;
static unsigned rnd(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (unsigned)(rng_state >> 32);
}

typedef struct {
    size_t rows, cols, tokens;
    uint8_t *packed, *tq2;
    float *scales, *x, *y, *dequant;
    int8_t *q;
    int32_t *sums;
    tern_t5_matrix w;
    tern_activations act;
} problem;

/// weights: 0 random, 1 all -1, 2 all +1, 3 all zero. acts: 0 random, 1 extreme (+-1e30, 0).
static problem make(size_t rows, size_t cols, size_t tokens, int weights, int acts) {
    problem p = {rows, cols, tokens};
    float *wf = malloc(rows * cols * sizeof(float) + 4);
    for (size_t i = 0; i < rows * cols; i++) {
        int t = weights == 0 ? (int)(rnd() % 3) - 1 : weights == 1 ? -1 : weights == 2 ? 1 : 0;
        wf[i] = 0.25f * (float)t;
    }
    p.tq2 = malloc(tern_tq2_0_bytes(rows, cols));
    tern_encode_tq2_0(wf, rows, cols, p.tq2);
    p.packed = aligned_alloc(64, rows * tern_t5_row_bytes(cols));
    p.scales = malloc(rows * sizeof(float));
    long bad = tern_repack_tq2_0(NULL, p.tq2, rows, cols, p.packed, p.scales);
    native_check(bad < 0, "ternary: repack of a ternarized TQ2_0 tensor");
    size_t stride = tern_activation_stride(cols);
    p.x = malloc(tokens * cols * sizeof(float) + 4);
    for (size_t i = 0; i < tokens * cols; i++)
        p.x[i] = acts == 0 ? (float)((int)(rnd() % 2001) - 1000) / 100.0f : (rnd() % 3 == 0 ? 0 : (rnd() & 1 ? 1e30f : -1e30f));
    p.q = aligned_alloc(64, tokens * stride);
    p.dequant = malloc(tokens * sizeof(float));
    p.sums = malloc(tokens * sizeof(int32_t));
    tern_quantize_activations(p.x, tokens, cols, stride, p.q, p.dequant, p.sums);
    p.y = malloc(tokens * rows * sizeof(float));
    p.w = (tern_t5_matrix){p.packed, p.scales, rows, cols};
    p.act = (tern_activations){p.q, p.dequant, p.sums, tokens, cols, stride};
    free(wf);
    return p;
}

static void release(problem *p) {
    free(p->packed); free(p->tq2); free(p->scales); free(p->x); free(p->y);
    free(p->dequant); free(p->q); free(p->sums);
}

static const char *variant_name(tern_variant v) {
    static const char *names[] = {"scalar", "avx2", "avx512vnni", "neon", "neon+dotprod"};
    return names[v];
}

static void check_problem(problem *p, tern_pool *pool, const char *what) {
    size_t n = p->tokens * p->rows;
    float *ref = malloc(n * sizeof(float) + 4), *ref_tq2 = malloc(n * sizeof(float) + 4);
    tern_t5_matmul(TERN_VARIANT_SCALAR, NULL, &p->w, &p->act, ref);
    tern_tq2_0_matmul(TERN_VARIANT_SCALAR, NULL, p->tq2, p->rows, p->cols, &p->act, ref_tq2);
    // The scalar reference itself against a direct float computation.
    int ok = 1;
    uint8_t *codes = malloc(tern_t5_padded_cols(p->cols));
    for (size_t r = 0; r < p->rows; r++) {
        tern_t5_unpack_row(p->packed + r * tern_t5_row_bytes(p->cols), p->cols, codes);
        for (size_t t = 0; t < p->tokens; t++) {
            long dot = 0;
            for (size_t k = 0; k < p->cols; k++) dot += (long)((int)codes[k] - 1) * p->q[t * p->act.stride + k];
            ok &= ref[t * p->rows + r] == ((float)dot * p->scales[r]) * p->dequant[t];
        }
    }
    free(codes);
    char msg[200];
    snprintf(msg, sizeof msg, "ternary %s: scalar equals the direct sum", what);
    native_check(ok, msg);
    for (int v = 0; v <= TERN_VARIANT_NEON_DOTPROD; v++) {
        if (!tern_variant_available((tern_variant)v)) continue;
        tern_t5_matmul((tern_variant)v, pool, &p->w, &p->act, p->y);
        snprintf(msg, sizeof msg, "ternary %s: %s T5 matmul equals scalar", what, variant_name((tern_variant)v));
        native_check(memcmp(p->y, ref, n * sizeof(float)) == 0, msg);
        // Fused: the same matrix three times (as Q, K and V would share the activations).
        float *fused = malloc(3 * n * sizeof(float) + 4);
        const tern_t5_matrix *ws[3] = {&p->w, &p->w, &p->w};
        float *ys[3] = {fused, fused + n, fused + 2 * n};
        tern_t5_matmul_many((tern_variant)v, pool, ws, ys, 3, &p->act);
        snprintf(msg, sizeof msg, "ternary %s: %s fused T5 matmul of 3 equals scalar", what, variant_name((tern_variant)v));
        native_check(memcmp(fused, ref, n * sizeof(float)) == 0 && memcmp(fused + n, ref, n * sizeof(float)) == 0
                     && memcmp(fused + 2 * n, ref, n * sizeof(float)) == 0, msg);
        free(fused);
        tern_tq2_0_matmul((tern_variant)v, pool, p->tq2, p->rows, p->cols, &p->act, p->y);
        snprintf(msg, sizeof msg, "ternary %s: %s TQ2_0 matmul equals scalar", what, variant_name((tern_variant)v));
        native_check(memcmp(p->y, ref_tq2, n * sizeof(float)) == 0, msg);
    }
    free(ref);
    free(ref_tq2);
}

void native_checks_ternary(void) {
    tern_pool *pool = tern_pool_create(3);
    static const size_t shapes[][3] = {
        {1, 1, 1}, {7, 5, 1}, {33, 300, 1}, {17, 321, 3}, {40, 640, 5}, {19, 1000, 9}, {64, 256, 4}, {3, 2560, 2}, {70, 700, 17},
    };
    char what[96];
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        problem p = make(shapes[s][0], shapes[s][1], shapes[s][2], 0, 0);
        snprintf(what, sizeof what, "%zux%zu n=%zu", shapes[s][0], shapes[s][1], shapes[s][2]);
        check_problem(&p, pool, what);
        release(&p);
    }
    static const char *edge_names[] = {"random", "all -1", "all +1", "all zero"};
    for (int weights = 0; weights < 4; weights++)
        for (int acts = 0; acts < 2; acts++) {
            problem p = make(21, 700, acts ? 6 : 1, weights, acts);
            snprintf(what, sizeof what, "%s weights, %s activations", edge_names[weights], acts ? "extreme" : "random");
            check_problem(&p, pool, what);
            release(&p);
        }
    tern_pool_destroy(pool);
}
