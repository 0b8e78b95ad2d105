// halfvec (big-endian halves) to floats: every one of the 65,536 halves on every path this CPU runs, against a
// reference computed from the IEEE 754 definition; lengths that leave a tail and unaligned buffers.
#include "halfvec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "errors.h"
#include "testing.h"

using namespace faceserver;

namespace {

uint32_t bitsOf(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// The float bits a half stands for, from the definition (not from the code under test).
uint32_t referenceBits(uint16_t h) {
  const bool negative = h & 0x8000;
  const int exponent = (h >> 10) & 31;
  const int mantissa = h & 1023;
  if (exponent == 31) {  // infinity, or NaN with the payload kept and the quiet bit set (F16C's behaviour)
    return (negative ? 0x80000000u : 0u) | 0x7f800000u |
           (mantissa ? 0x00400000u | static_cast<uint32_t>(mantissa) << 13 : 0u);
  }
  const double magnitude =
      exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(1.0 + mantissa / 1024.0, exponent - 15);
  return bitsOf(static_cast<float>(negative ? -magnitude : magnitude));
}

std::vector<HalfPath> availablePaths() {
  std::vector<HalfPath> paths{HalfPath::Scalar};
  for (HalfPath p : {HalfPath::Sse2, HalfPath::F16c})
    if (cpuSupports(p)) paths.push_back(p);
  return paths;
}

// Every half, big-endian, in order.
std::vector<uint8_t> allHalves() {
  std::vector<uint8_t> bytes(65536 * 2);
  for (uint32_t h = 0; h < 65536; ++h) {
    bytes[2 * h] = static_cast<uint8_t>(h >> 8);
    bytes[2 * h + 1] = static_cast<uint8_t>(h);
  }
  return bytes;
}

}  // namespace

TEST(halfvec_every_half_on_every_path_equals_the_definition) {
  const std::vector<uint8_t> bytes = allHalves();
  for (HalfPath path : availablePaths()) {
    std::vector<float> out(65536, -1.0f);
    halfvecToFloats(bytes.data(), 65536, out.data(), path);
    for (uint32_t h = 0; h < 65536; ++h) {
      if (bitsOf(out[h]) != referenceBits(static_cast<uint16_t>(h)))
        FS_FAIL("path " << static_cast<int>(path) << ": half 0x" << std::hex << h << " gave 0x" << bitsOf(out[h])
                        << ", expected 0x" << referenceBits(static_cast<uint16_t>(h)));
    }
  }
}

TEST(halfvec_known_values_and_byte_order) {
  const uint8_t bytes[] = {0x3c, 0x00, 0xc1, 0x00, 0x00, 0x01, 0x7b, 0xff, 0x80, 0x00};
  float out[5];
  halfvecToFloats(bytes, 5, out);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == -2.5f);
  CHECK(out[2] == std::ldexp(1.0f, -24));  // the smallest subnormal
  CHECK(out[3] == 65504.0f);               // the largest finite half
  CHECK(out[4] == 0.0f && std::signbit(out[4]));
}

TEST(halfvec_tails_and_unaligned_buffers_match_the_scalar_path) {
  const std::vector<uint8_t> all = allHalves();
  for (HalfPath path : availablePaths()) {
    for (size_t count : {0, 1, 7, 15, 16, 17, 31, 33, 512, 1029}) {
      for (size_t srcOffset : {0, 1}) {
        for (size_t dstOffset : {0, 1}) {
          // Halves from the middle of the range (normal values), at an odd byte offset when srcOffset is 1.
          std::vector<uint8_t> src(count * 2 + srcOffset);
          std::copy_n(all.begin() + 2 * 0x3000, count * 2, src.begin() + srcOffset);
          std::vector<float> out(count + dstOffset + 1, 42.0f), expected(count);
          halfvecToFloats(src.data() + srcOffset, count, out.data() + dstOffset, path);
          halfvecToFloats(src.data() + srcOffset, count, expected.data(), HalfPath::Scalar);
          for (size_t i = 0; i < count; ++i) CHECK(bitsOf(out[dstOffset + i]) == bitsOf(expected[i]));
          CHECK(out[dstOffset + count] == 42.0f);  // nothing written past the end
          if (dstOffset) CHECK(out[0] == 42.0f);
        }
      }
    }
  }
}

TEST(halfvec_a_forced_path_the_cpu_lacks_is_refused) {
  uint8_t bytes[2] = {0x3c, 0x00};
  float out[1];
  if (!cpuSupports(HalfPath::F16c))
    CHECK_THROWS_CODE(halfvecToFloats(bytes, 1, out, HalfPath::F16c), ErrorCode::InvalidArgument);
  halfvecToFloats(bytes, 1, out, HalfPath::Auto);
  CHECK(out[0] == 1.0f);
}
