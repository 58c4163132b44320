#ifndef TERN_CPU_H
#define TERN_CPU_H
// Run-time CPU feature detection. Kernels are compiled for every ISA with
// __attribute__((target(...))) and the dispatcher picks a variant from these flags.
#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TERN_CPU_AVX2        = 1 << 0,  // with FMA and F16C
    TERN_CPU_AVX512F     = 1 << 1,
    TERN_CPU_AVX512BW    = 1 << 2,  // with VL
    TERN_CPU_AVX512VNNI  = 1 << 3,
    TERN_CPU_AVX512BF16  = 1 << 4,
    TERN_CPU_NEON        = 1 << 8,
    TERN_CPU_DOTPROD     = 1 << 9,
} tern_cpu_feature;

/// Bit set of tern_cpu_feature for the running CPU (computed once).
unsigned tern_cpu_features(void);

#ifdef __cplusplus
}
#endif
#endif
