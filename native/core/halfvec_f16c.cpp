// The F16C path of halfvec.h: 16 halves a step, byte-swapped with vpshufb and widened with vcvtph2ps.
#include <immintrin.h>

#include <cstring>

#include "halfvec.h"

#define FS_F16C __attribute__((target("avx2,f16c")))

namespace faceserver {

FS_F16C void halfvecToFloatsF16c(const uint8_t* src, size_t count, float* dst) {
  // Big-endian halves to little-endian: swap the two bytes of every 16-bit lane.
  const __m256i swap = _mm256_setr_epi8(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14,  //
                                        1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256i halves = _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i)), swap);
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm256_castsi256_si128(halves)));
    _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(_mm256_extracti128_si256(halves, 1)));
  }
  for (; i < count; ++i) {
    const uint32_t bits = halfToFloatBits(static_cast<uint32_t>(src[2 * i]) << 8 | src[2 * i + 1]);
    std::memcpy(dst + i, &bits, sizeof bits);
  }
}

}  // namespace faceserver
