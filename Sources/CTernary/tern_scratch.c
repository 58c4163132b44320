#include "tern_scratch.h"
#include <stdlib.h>

static _Thread_local struct {
    void *p;
    size_t capacity;
} slots[TERN_SCRATCH_SLOTS];

void *tern_scratch_acquire(tern_scratch_slot slot, size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (bytes > TERN_SCRATCH_KEPT_BYTES) return malloc(bytes);
    if (slots[slot].capacity < bytes) {
        free(slots[slot].p);
        slots[slot].p = malloc(TERN_SCRATCH_KEPT_BYTES);
        slots[slot].capacity = slots[slot].p ? TERN_SCRATCH_KEPT_BYTES : 0;
    }
    return slots[slot].p;
}

void tern_scratch_release(tern_scratch_slot slot, void *p) {
    if (p != slots[slot].p) free(p);
}
