#ifndef TERN_SCRATCH_H
#define TERN_SCRATCH_H
// Private: per-thread scratch reused across kernel calls, so the small work buffers a
// decode step needs (RoPE angle tables, the head's quantized activations, the int16 split's residual, a file chunk being hashed) come from memory
// allocated once per thread instead of malloc/free on every call.
#include <stddef.h>

typedef enum {
    TERN_SCRATCH_ROPE = 0,
    TERN_SCRATCH_QUANT_ACTIVATIONS = 1,
    TERN_SCRATCH_SPLIT_RESIDUAL = 2,
    TERN_SCRATCH_HASH_CHUNK = 3,
    TERN_SCRATCH_SLOTS
} tern_scratch_slot;

/// Requests up to this many bytes are served from the calling thread's slot (grown once,
/// kept for the thread's life); larger ones (big prefill batches) are malloc'd per call.
#define TERN_SCRATCH_KEPT_BYTES ((size_t)1 << 20)

/// `bytes` of scratch for the calling thread's `slot`, or NULL when out of memory. Pass the
/// result to tern_scratch_release when done (it frees only what was not kept).
void *tern_scratch_acquire(tern_scratch_slot slot, size_t bytes);
void tern_scratch_release(tern_scratch_slot slot, void *p);
#endif
