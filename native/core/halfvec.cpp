#include "halfvec.h"

#include <cstring>

#include "errors.h"
#include "runtime_info.h"

namespace faceserver {

float halfToFloat(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13) | (mantissa ? 0x00400000u : 0u);  // infinity; NaN quieted
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // rebias 15 -> 127
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal: mantissa x 2^-24, normalised so that its top bit becomes the implicit one.
    const int shift = __builtin_clz(mantissa) - 21;
    mantissa = (mantissa << shift) & 0x3ffu;
    bits = sign | (static_cast<uint32_t>(113 - shift) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

bool cpuSupports(HalfPath path) {
  switch (path) {
    case HalfPath::Auto:
    case HalfPath::Scalar: return true;
    case HalfPath::F16c: return cpuFeatures().avx2 && cpuFeatures().f16c;
  }
  return false;
}

void halfvecToFloats(const uint8_t* src, size_t count, float* dst, HalfPath path) {
  if (path == HalfPath::Auto) path = cpuSupports(HalfPath::F16c) ? HalfPath::F16c : HalfPath::Scalar;
  if (!cpuSupports(path)) throw EngineError(ErrorCode::InvalidArgument, "this CPU cannot run the F16C conversion");
  if (path == HalfPath::F16c) {
    halfvecToFloatsF16c(src, count, dst);
    return;
  }
  for (size_t i = 0; i < count; ++i) dst[i] = halfToFloat(static_cast<uint16_t>(src[2 * i] << 8 | src[2 * i + 1]));
}

}  // namespace faceserver
