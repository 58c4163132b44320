// Streaming read over a large buffer on the pool: the memory bandwidth that the ternary
// GEMV benchmark is measured against.
#include "ternary_internal.h"

#define STREAM_CHUNK TERN_STREAM_CHUNK_BYTES

typedef struct {
    const uint64_t *words;
    size_t count;
    uint64_t *partial;
} stream_job;

static void stream_task(void *raw, int task, int thread) {
    (void)thread;
    stream_job *job = raw;
    size_t per = STREAM_CHUNK / 8, begin = (size_t)task * per, end = begin + per < job->count ? begin + per : job->count;
    uint64_t a[8] = {0};
    size_t i = begin;
    for (; i + 8 <= end; i += 8)
        for (int j = 0; j < 8; j++) a[j] += job->words[i + (size_t)j];
    for (; i < end; i++) a[0] += job->words[i];
    job->partial[task] = a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

uint64_t tern_stream_sum(tern_pool *pool, const void *data, size_t bytes, uint64_t *partial) {
    size_t tasks = (bytes + STREAM_CHUNK - 1) / STREAM_CHUNK;
    stream_job job = {data, bytes / 8, partial};
    tern_pool_run(pool, (int)tasks, stream_task, &job);
    uint64_t sum = 0;
    for (size_t t = 0; t < tasks; t++) sum += partial[t];
    return sum;
}
