#include "tern_cpu.h"
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

static unsigned detect(void) {
    unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= TERN_CPU_AVX2;
    if (__builtin_cpu_supports("avx512f")) f |= TERN_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) f |= TERN_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512vnni")) f |= TERN_CPU_AVX512VNNI;
    if (__builtin_cpu_supports("avx512bf16")) f |= TERN_CPU_AVX512BF16;
#elif defined(__aarch64__)
    f |= TERN_CPU_NEON; // Advanced SIMD is mandatory on AArch64
#if defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP);
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
    if (hw & HWCAP_ASIMDDP) f |= TERN_CPU_DOTPROD;
#elif defined(__APPLE__)
    f |= TERN_CPU_DOTPROD; // every Apple silicon core has the dot-product extension
#endif
#endif
    return f;
}

unsigned tern_cpu_features(void) {
    static unsigned cached = ~0u;
    unsigned v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v == ~0u) {
        v = detect();
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

static _Thread_local unsigned dispatch_override = TERN_DISPATCH_AUTOMATIC;

unsigned tern_dispatch_features(void) { return tern_cpu_features() & dispatch_override; }

unsigned tern_dispatch_override_get(void) { return dispatch_override; }

unsigned tern_dispatch_override_set(unsigned features) {
    unsigned previous = dispatch_override;
    dispatch_override = features;
    return previous;
}
