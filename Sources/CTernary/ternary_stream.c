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
    const uint64_t *words = job->words + begin;
    uint64_t sum = 0;
    for (size_t i = 0; i < end - begin; i++) sum += words[i]; // a plain loop vectorizes best
    job->partial[task] = sum;
}

uint64_t tern_stream_sum(tern_pool *pool, const void *data, size_t bytes, uint64_t *partial) {
    size_t tasks = (bytes + STREAM_CHUNK - 1) / STREAM_CHUNK;
    stream_job job = {data, bytes / 8, partial};
    tern_pool_run(pool, (int)tasks, stream_task, &job);
    uint64_t sum = 0;
    for (size_t t = 0; t < tasks; t++) sum += partial[t];
    return sum;
}
