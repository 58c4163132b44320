// XXH64 (Yann Collet's xxHash, 64-bit variant; BSD-2) and the chunked content hash built on it.
#define _GNU_SOURCE // pread
#include "tern_hash.h"
#include "tern_scratch.h"
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL, P3 = 0x165667B19E3779F9ULL,
                      P4 = 0x85EBCA77C2B2AE63ULL, P5 = 0x27D4EB2F165667C5ULL;

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t read64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; } // little-endian hosts only
static inline uint32_t read32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static inline uint64_t round64(uint64_t acc, uint64_t input) {
    acc += input * P2;
    return rotl(acc, 31) * P1;
}

static inline uint64_t merge(uint64_t acc, uint64_t v) {
    acc ^= round64(0, v);
    return acc * P1 + P4;
}

uint64_t tern_xxh64(const void *data, size_t n, uint64_t seed) {
    const uint8_t *p = data, *end = p + n;
    uint64_t h;
    if (n >= 32) {
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        for (const uint8_t *limit = end - 32; p <= limit; p += 32) {
            v1 = round64(v1, read64(p));
            v2 = round64(v2, read64(p + 8));
            v3 = round64(v3, read64(p + 16));
            v4 = round64(v4, read64(p + 24));
        }
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = merge(h, v1);
        h = merge(h, v2);
        h = merge(h, v3);
        h = merge(h, v4);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)n;
    for (; p + 8 <= end; p += 8) h = rotl(h ^ round64(0, read64(p)), 27) * P1 + P4;
    if (p + 4 <= end) {
        h = rotl(h ^ ((uint64_t)read32(p) * P1), 23) * P2 + P3;
        p += 4;
    }
    for (; p < end; p++) h = rotl(h ^ (*p * P5), 11) * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

typedef struct {
    const uint8_t *data; // NULL: read chunks from fd
    int fd;
    size_t n;
    uint64_t *chunks;
    _Atomic int error;   // errno of the first failed read, 0 if none
} hash_job;

static void store_le(uint64_t *slot, uint64_t h) {
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(h >> (8 * i));
    memcpy(slot, le, 8);
}

/// Reads `len` bytes at `offset` into `buf`; 0, or the errno of the failure (EIO for a
/// file that ends early).
static int read_fully(int fd, uint8_t *buf, size_t len, size_t offset) {
    size_t done = 0;
    while (done < len) {
        ssize_t got = pread(fd, buf + done, len - done, (off_t)(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return got < 0 ? errno : EIO;
        done += (size_t)got;
    }
    return 0;
}

static void chunk_task(void *ctx, int task, int thread) {
    (void)thread;
    hash_job *job = ctx;
    size_t start = (size_t)task * TERN_CONTENT_HASH_CHUNK, len = job->n - start;
    if (len > TERN_CONTENT_HASH_CHUNK) len = TERN_CONTENT_HASH_CHUNK;
    if (job->data) {
        store_le(&job->chunks[task], tern_xxh64(job->data + start, len, 0));
        return;
    }
    uint8_t *buf = tern_scratch_acquire(TERN_SCRATCH_HASH_CHUNK, len);
    int failure = buf ? read_fully(job->fd, buf, len, start) : ENOMEM;
    if (failure == 0) store_le(&job->chunks[task], tern_xxh64(buf, len, 0));
    else {
        int none = 0;
        atomic_compare_exchange_strong(&job->error, &none, failure);
    }
    if (buf) tern_scratch_release(TERN_SCRATCH_HASH_CHUNK, buf);
}

static int hash_chunks(tern_pool *pool, hash_job *job, uint64_t *hash) {
    size_t count = (job->n + TERN_CONTENT_HASH_CHUNK - 1) / TERN_CONTENT_HASH_CHUNK;
    job->chunks = malloc(count ? count * 8 : 1);
    if (!job->chunks) { errno = ENOMEM; return -1; }
    tern_pool_run(pool, (int)count, chunk_task, job);
    int failure = atomic_load(&job->error);
    if (failure == 0) *hash = tern_xxh64(job->chunks, count * 8, (uint64_t)job->n);
    free(job->chunks);
    if (failure) { errno = failure; return -1; }
    return 0;
}

uint64_t tern_content_hash(tern_pool *pool, const void *data, size_t n) {
    hash_job job = {data ? data : "", -1, n, NULL, 0};
    uint64_t hash = 0;
    hash_chunks(pool, &job, &hash); // cannot fail but for memory, which leaves 0
    return hash;
}

int tern_content_hash_file(tern_pool *pool, int fd, size_t n, uint64_t *hash) {
    hash_job job = {NULL, fd, n, NULL, 0};
    return hash_chunks(pool, &job, hash);
}
