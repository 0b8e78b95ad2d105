// pgvector's halfvec in its binary form (halfvec_send: the values as big-endian IEEE 754 half floats) widened
// to floats, for the face index load (8,192 x 512 values a batch). The F16C path (x86-64-v3: AVX2 + F16C) is
// chosen at run time, like the matcher's kernels; the portable path runs everywhere else. Both are exact for
// every half: subnormals and signed zeros, infinities, and NaNs (quieted, as F16C does).
#pragma once

#include <cstddef>
#include <cstdint>

namespace faceserver {

enum class HalfPath { Auto, Scalar, F16c };

bool cpuSupports(HalfPath path);

// Converts `count` halves from `src` (2 * count bytes, big-endian) into `dst`. The ranges must not overlap.
// Auto takes the best path this CPU has; a forced path the CPU lacks throws InvalidArgument.
void halfvecToFloats(const uint8_t* src, size_t count, float* dst, HalfPath path = HalfPath::Auto);

// One half (host-order bits) to float: the portable path's conversion.
float halfToFloat(uint16_t half);

// The F16C kernel (halfvec_f16c.cpp); call only when cpuSupports(HalfPath::F16c).
void halfvecToFloatsF16c(const uint8_t* src, size_t count, float* dst);

}  // namespace faceserver
