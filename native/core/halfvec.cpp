#include "halfvec.h"

#include <cstring>

#include "errors.h"
#include "runtime_info.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace faceserver {

namespace {

constexpr uint32_t kExponentMask = 0x0f800000u;  // a half's exponent, moved to where a float has its own
constexpr uint32_t kRebias = 112u << 23;         // exponent bias 15 -> 127
constexpr float kSubnormalOffset = 0x1p-14f;     // see halfToFloatBits

// Branch-free, in the same steps as the SSE2 kernel below: a half's exponent and mantissa shifted into place
// are a float once rebiased. Infinity and NaN are rebiased twice (exponent 31 -> 255) and a NaN quieted. A
// subnormal m x 2^-24 is computed in normal arithmetic, as (1 + m / 1024) x 2^-14 - 2^-14, which is exact and
// immune to denormals-are-zero modes.
inline uint32_t widen(uint32_t half) {
  const uint32_t sign = (half & 0x8000u) << 16;
  const uint32_t bits = (half & 0x7fffu) << 13;
  const uint32_t exponent = bits & kExponentMask;
  const uint32_t normal = bits + kRebias;
  const uint32_t special = (normal + kRebias) | ((bits & 0x007fffffu) ? 0x00400000u : 0u);
  float subnormal;
  const uint32_t shifted = bits + kRebias + (1u << 23);
  std::memcpy(&subnormal, &shifted, sizeof subnormal);
  subnormal -= kSubnormalOffset;
  uint32_t subnormalBits;
  std::memcpy(&subnormalBits, &subnormal, sizeof subnormalBits);
  return sign | (exponent == 0 ? subnormalBits : exponent == kExponentMask ? special : normal);
}

inline uint32_t bigEndianHalf(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 8 | p[1];
}

void convertScalar(const uint8_t* src, size_t count, float* dst) {
  for (size_t i = 0; i < count; ++i) {
    const uint32_t bits = widen(bigEndianHalf(src + 2 * i));
    std::memcpy(dst + i, &bits, sizeof bits);
  }
}

#if defined(__SSE2__)
// widen() on 4 halves held zero-extended in 32-bit lanes.
__m128i widen4(__m128i half) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i sign = _mm_slli_epi32(_mm_and_si128(half, _mm_set1_epi32(0x8000)), 16);
  const __m128i bits = _mm_slli_epi32(_mm_and_si128(half, _mm_set1_epi32(0x7fff)), 13);
  const __m128i exponent = _mm_and_si128(bits, _mm_set1_epi32(static_cast<int>(kExponentMask)));
  const __m128i normal = _mm_add_epi32(bits, _mm_set1_epi32(kRebias));
  const __m128i nan = _mm_andnot_si128(_mm_cmpeq_epi32(_mm_and_si128(bits, _mm_set1_epi32(0x007fffff)), zero),
                                       _mm_set1_epi32(0x00400000));
  const __m128i special = _mm_or_si128(_mm_add_epi32(normal, _mm_set1_epi32(kRebias)), nan);
  const __m128 shifted = _mm_castsi128_ps(_mm_add_epi32(normal, _mm_set1_epi32(1 << 23)));
  const __m128i subnormal = _mm_castps_si128(_mm_sub_ps(shifted, _mm_set1_ps(kSubnormalOffset)));
  const __m128i isSubnormal = _mm_cmpeq_epi32(exponent, zero);
  const __m128i isSpecial = _mm_cmpeq_epi32(exponent, _mm_set1_epi32(static_cast<int>(kExponentMask)));
  __m128i r = _mm_or_si128(_mm_and_si128(isSubnormal, subnormal), _mm_andnot_si128(isSubnormal, normal));
  r = _mm_or_si128(_mm_and_si128(isSpecial, special), _mm_andnot_si128(isSpecial, r));
  return _mm_or_si128(r, sign);
}

void convertSse2(const uint8_t* src, size_t count, float* dst) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m128i halves = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    halves = _mm_or_si128(_mm_slli_epi16(halves, 8), _mm_srli_epi16(halves, 8));  // to host order
    const __m128i zero = _mm_setzero_si128();
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), widen4(_mm_unpacklo_epi16(halves, zero)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 4), widen4(_mm_unpackhi_epi16(halves, zero)));
  }
  convertScalar(src + 2 * i, count - i, dst + i);
}
#endif

}  // namespace

uint32_t halfToFloatBits(uint32_t half) {
  return widen(half);
}

bool cpuSupports(HalfPath path) {
  switch (path) {
    case HalfPath::Auto:
    case HalfPath::Scalar: return true;
#if defined(__SSE2__)
    case HalfPath::Sse2: return true;
#else
    case HalfPath::Sse2: return false;
#endif
    case HalfPath::F16c: return cpuFeatures().avx2 && cpuFeatures().f16c;
  }
  return false;
}

void halfvecToFloats(const uint8_t* src, size_t count, float* dst, HalfPath path) {
  if (path == HalfPath::Auto) {
    path = cpuSupports(HalfPath::F16c)   ? HalfPath::F16c
           : cpuSupports(HalfPath::Sse2) ? HalfPath::Sse2
                                         : HalfPath::Scalar;
  }
  if (!cpuSupports(path)) throw EngineError(ErrorCode::InvalidArgument, "this CPU cannot run that conversion path");
  switch (path) {
    case HalfPath::F16c: halfvecToFloatsF16c(src, count, dst); return;
#if defined(__SSE2__)
    case HalfPath::Sse2: convertSse2(src, count, dst); return;
#endif
    default: convertScalar(src, count, dst); return;
  }
}

}  // namespace faceserver
