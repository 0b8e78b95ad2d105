// pgvector's halfvec in its binary form (halfvec_send: the values as big-endian IEEE 754 half floats) widened
// to floats, for the face index load (8,192 x 512 values a batch). Three paths, the best one chosen at run time
// like the matcher's kernels: F16C (x86-64-v3: AVX2 + F16C, vcvtph2ps), SSE2 (every x86-64 CPU, e.g. the
// default CPU models of QEMU/Proxmox guests) and plain C++ (anything else, and the tails). All are exact for
// every half: subnormals and signed zeros, infinities, and NaNs (quieted, as F16C does).
#pragma once

#include <cstddef>
#include <cstdint>

namespace faceserver {

enum class HalfPath { Auto, Scalar, Sse2, F16c };

bool cpuSupports(HalfPath path);

// Converts `count` halves from `src` (2 * count bytes, big-endian) into `dst`. The ranges must not overlap.
// Auto takes the best path this CPU has; a forced path the CPU (or the build) lacks throws InvalidArgument.
void halfvecToFloats(const uint8_t* src, size_t count, float* dst, HalfPath path = HalfPath::Auto);

// One half (host-order bits) to the bits of its float: the plain C++ path, also used for the tails.
uint32_t halfToFloatBits(uint32_t half);

// The F16C kernel (halfvec_f16c.cpp); call only when cpuSupports(HalfPath::F16c).
void halfvecToFloatsF16c(const uint8_t* src, size_t count, float* dst);

}  // namespace faceserver
