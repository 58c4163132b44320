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

// ---- kernel class override (per thread) ----
// The automatic kernel choices (TERN_FV_AUTO, tern_float_variant_best, tern_variant_best,
// the BF16 path of the AVX-512 GEMM) decide which bits a product gives. A node that
// re-executes a peer's work must make the peer's choices, while its other threads keep
// their own: so the features those choices may use can be narrowed per thread. Explicit
// variants are unaffected (they need only the CPU's features). tern_pool_run hands the
// caller's override to its workers for the run.

/// "No override": automatic choices use every feature of the CPU.
#define TERN_DISPATCH_AUTOMATIC 0xFFFFFFFFu

/// Features the automatic choices may use on the calling thread: tern_cpu_features()
/// narrowed by this thread's override.
unsigned tern_dispatch_features(void);
/// This thread's override (TERN_DISPATCH_AUTOMATIC when none is set).
unsigned tern_dispatch_override_get(void);
/// Sets this thread's override to a set of tern_cpu_feature bits (or TERN_DISPATCH_AUTOMATIC)
/// and returns the previous one. Bits the CPU lacks are ignored, so an override never
/// selects an instruction the CPU does not have.
unsigned tern_dispatch_override_set(unsigned features);

#ifdef __cplusplus
}
#endif
#endif
