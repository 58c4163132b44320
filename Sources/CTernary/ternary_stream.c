// Streaming read over a large buffer on the pool: the memory bandwidth that the ternary
// GEMV benchmark is measured against. It must be the best read rate the machine offers,
// or the GEMV's "% of bandwidth" flatters it: each thread reads one contiguous range (many
// small interleaved chunks read up to 20 % slower on the 2-core Zen 5 guest), and with the
// widest loads the CPU has (64-byte loads stream ~20 % faster per core than the 16-byte
// loads of a plain loop compiled for baseline x86-64).
#include "ternary_internal.h"
#include "tern_cpu.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct {
    const uint64_t *words;
    size_t count;
    int tasks;
    uint64_t (*sum)(const uint64_t *words, size_t count);
    uint64_t *partial;
} stream_job;

static uint64_t sum_plain(const uint64_t *words, size_t count) {
    uint64_t sum = 0;
    for (size_t i = 0; i < count; i++) sum += words[i]; // the compiler vectorizes this
    return sum;
}

#if defined(__x86_64__)
/// Four independent 64-byte loads per step, so several cache lines are in flight at once.
__attribute__((target("avx512f"))) static uint64_t sum_avx512(const uint64_t *words, size_t count) {
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        a = _mm512_add_epi64(a, _mm512_loadu_si512(words + i));
        b = _mm512_add_epi64(b, _mm512_loadu_si512(words + i + 8));
        c = _mm512_add_epi64(c, _mm512_loadu_si512(words + i + 16));
        d = _mm512_add_epi64(d, _mm512_loadu_si512(words + i + 24));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(c, d))) +
           sum_plain(words + i, count - i);
}
#endif

static void stream_task(void *raw, int task, int thread) {
    (void)thread;
    stream_job *job = raw;
    size_t begin = job->count * (size_t)task / (size_t)job->tasks, end = job->count * (size_t)(task + 1) / (size_t)job->tasks;
    job->partial[task] = job->sum(job->words + begin, end - begin);
}

uint64_t tern_stream_sum(tern_pool *pool, const void *data, size_t bytes, uint64_t *partial) {
    int tasks = tern_pool_threads(pool);
    stream_job job = {data, bytes / 8, tasks, sum_plain, partial};
#if defined(__x86_64__)
    if (tern_cpu_features() & TERN_CPU_AVX512F) job.sum = sum_avx512;
#endif
    tern_pool_run(pool, tasks, stream_task, &job);
    uint64_t sum = 0;
    for (int t = 0; t < tasks; t++) sum += partial[t];
    return sum;
}
