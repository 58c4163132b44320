#ifndef TERN_HASH_H
#define TERN_HASH_H
// Content hashes for the layout cache: fast enough to re-check a 2B model's file and its
// cached engine layout on every load (a memory-speed pass instead of BLAKE2b's ~1 GB/s).
// Not cryptographic: they catch changed, torn or corrupt files, not a forger.
#include <stddef.h>
#include <stdint.h>
#include "tern_pool.h"
#ifdef __cplusplus
extern "C" {
#endif

/// XXH64 (xxHash, 64-bit) of `n` bytes with `seed`: the reference algorithm, bit for bit.
uint64_t tern_xxh64(const void *data, size_t n, uint64_t seed);

/// Bytes per chunk of tern_content_hash.
#define TERN_CONTENT_HASH_CHUNK ((size_t)1 << 20)

/// Hash of `n` bytes that `pool` computes in parallel: the XXH64 (seed 0) of every 1 MiB
/// chunk, then the XXH64 (seed n) of those chunk hashes as little-endian words. The same
/// value for any thread count. Zero bytes hash to the XXH64 of no chunk hashes.
uint64_t tern_content_hash(tern_pool *pool, const void *data, size_t n);

/// tern_content_hash of the first `n` bytes of the open file `fd`, read chunk by chunk with
/// pread on the pool: nothing is mapped, so hashing a model adds nothing to resident
/// memory. Returns 0 and stores the hash, or -1 with errno set when a read fails or the
/// file is shorter than `n`.
int tern_content_hash_file(tern_pool *pool, int fd, size_t n, uint64_t *hash);

#ifdef __cplusplus
}
#endif
#endif
