// Reference kernels in plain C++: the answers every SIMD path must reproduce.
#include "kernels.h"

namespace faceserver::matcher {

namespace {

size_t hammingBelow(const uint64_t* blocks, size_t nBlocks, const uint64_t* querySign, uint32_t below,
                    uint32_t* indexOut, uint16_t* distanceOut) {
  size_t found = 0;
  for (size_t b = 0; b < nBlocks; ++b) {
    const uint64_t* block = blocks + b * kBlockWords;
    for (size_t lane = 0; lane < kBlockTemplates; ++lane) {
      uint32_t distance = 0;
      for (size_t w = 0; w < kSignWords; ++w) {
        distance += static_cast<uint32_t>(__builtin_popcountll(block[w * kBlockTemplates + lane] ^ querySign[w]));
      }
      if (distance < below) {
        indexOut[found] = static_cast<uint32_t>(b * kBlockTemplates + lane);
        distanceOut[found] = static_cast<uint16_t>(distance);
        ++found;
      }
    }
  }
  return found;
}

size_t weightedBelow(const uint64_t* blocks, size_t nBlocks, const QueryCodes& query, uint32_t below,
                     uint32_t* indexOut, uint16_t* costOut) {
  size_t found = 0;
  for (size_t b = 0; b < nBlocks; ++b) {
    const uint64_t* block = blocks + b * kBlockWords;
    for (size_t lane = 0; lane < kBlockTemplates; ++lane) {
      uint32_t cost = 0;
      for (size_t p = 0; p < kWeightPlanes; ++p) {
        uint32_t bits = 0;
        for (size_t w = 0; w < kSignWords; ++w) {
          const uint64_t differ = block[w * kBlockTemplates + lane] ^ query.sign[w];
          bits += static_cast<uint32_t>(__builtin_popcountll(differ & query.planes[p][w]));
        }
        cost += bits << p;
      }
      if (cost < below) {
        indexOut[found] = static_cast<uint32_t>(b * kBlockTemplates + lane);
        costOut[found] = static_cast<uint16_t>(cost);
        ++found;
      }
    }
  }
  return found;
}

void offsetDots(const uint8_t* codes, size_t n, const QueryCodes& query, int32_t* out) {
  for (size_t t = 0; t < n; ++t) {
    const uint8_t* code = codes + t * kDims;
    int32_t sum = 0;
    for (size_t i = 0; i < kDims; ++i) sum += static_cast<int32_t>(code[i]) * query.code[i];
    out[t] = sum;
  }
}

float floatDot(const uint8_t* code, const QueryCodes& query) {
  float sum = 0;
  for (size_t i = 0; i < kDims; ++i) sum += static_cast<float>(static_cast<int>(code[i]) - 128) * query.unit[i];
  return sum;
}

}  // namespace

const Kernels& scalarKernels() {
  static const Kernels kernels{KernelPath::Scalar, hammingBelow, weightedBelow, offsetDots, floatDot};
  return kernels;
}

}  // namespace faceserver::matcher
