// AVX2 variant of the quantized dot products (vpmaddubsw + vpmaddwd).
#include "quant_variants.h"
#if defined(__x86_64__)
#define QTGT __attribute__((target("avx2,fma,f16c")))
#include <immintrin.h>
QTGT static inline __m256i QDOT(__m256i w_u8, __m256i a_s8) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w_u8, a_s8), _mm256_set1_epi16(1));
}
#include "quant_x86_body.h"
const tern_quant_kernels tern_quant_kernels_avx2 = QUANT_KERNEL_TABLE;
#endif
