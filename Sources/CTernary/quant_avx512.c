// AVX-512 VNNI variant of the quantized dot products (vpdpbusd on 256-bit vectors).
#include "quant_variants.h"
#if defined(__x86_64__)
#define QTGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#include <immintrin.h>
QTGT static inline __m256i QDOT(__m256i w_u8, __m256i a_s8) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), w_u8, a_s8);
}
#include "quant_x86_body.h"
const tern_quant_kernels tern_quant_kernels_avx512 = QUANT_KERNEL_TABLE;
#endif
