// Native checks of the C kernel engine, built by scripts/test-neon.sh for aarch64 and run
// under qemu-aarch64, so the NEON variants are tested on every machine. Prints
// "N passed, N failed" and exits non-zero on any failure.
#include "native_checks.h"
#include <stdio.h>

int native_checks_passed, native_checks_failed;

void native_check(int ok, const char *what) {
    if (ok) native_checks_passed++;
    else { native_checks_failed++; fprintf(stderr, "FAILED: %s\n", what); }
}

int main(void) {
    native_checks_pool();
    native_checks_ternary();
    native_checks_float();
    printf("neon kernel checks: %d passed, %d failed\n", native_checks_passed, native_checks_failed);
    return native_checks_failed ? 1 : 0;
}
