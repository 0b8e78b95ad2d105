// AVX2 kernels: popcount through a nibble lookup table (vpshufb), int8 dots through widening to int16 and
// vpmaddwd (exact; vpmaddubsw would saturate), float dots with FMA.
#include <immintrin.h>

#include "kernels.h"

#define FS_AVX2 __attribute__((target("avx2,fma,popcnt")))

namespace faceserver::matcher {

namespace {

FS_AVX2 size_t hammingBelow(const uint64_t* blocks, size_t nBlocks, const uint64_t* querySign, uint32_t below,
                            uint32_t* indexOut, uint16_t* distanceOut) {
  const __m256i nibbleCounts =
      _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i lowNibbles = _mm256_set1_epi8(0x0f);
  __m256i query[kSignWords];
  for (size_t w = 0; w < kSignWords; ++w) query[w] = _mm256_set1_epi64x(static_cast<long long>(querySign[w]));
  size_t found = 0;
  alignas(32) uint64_t distances[kBlockTemplates];
  for (size_t b = 0; b < nBlocks; ++b) {
    const uint64_t* block = blocks + b * kBlockWords;
    __m256i bytesLow = _mm256_setzero_si256(), bytesHigh = _mm256_setzero_si256();  // templates 0-3, 4-7
    for (size_t w = 0; w < kSignWords; ++w) {
      const __m256i x0 = _mm256_xor_si256(_mm256_load_si256(reinterpret_cast<const __m256i*>(block + w * 8)), query[w]);
      const __m256i x1 =
          _mm256_xor_si256(_mm256_load_si256(reinterpret_cast<const __m256i*>(block + w * 8 + 4)), query[w]);
      // Per-byte popcounts; 8 words x at most 8 bits stay <= 64, so byte accumulators cannot overflow.
      bytesLow = _mm256_add_epi8(
          bytesLow,
          _mm256_add_epi8(_mm256_shuffle_epi8(nibbleCounts, _mm256_and_si256(x0, lowNibbles)),
                          _mm256_shuffle_epi8(nibbleCounts, _mm256_and_si256(_mm256_srli_epi16(x0, 4), lowNibbles))));
      bytesHigh = _mm256_add_epi8(
          bytesHigh,
          _mm256_add_epi8(_mm256_shuffle_epi8(nibbleCounts, _mm256_and_si256(x1, lowNibbles)),
                          _mm256_shuffle_epi8(nibbleCounts, _mm256_and_si256(_mm256_srli_epi16(x1, 4), lowNibbles))));
    }
    const __m256i zero = _mm256_setzero_si256();
    _mm256_store_si256(reinterpret_cast<__m256i*>(distances), _mm256_sad_epu8(bytesLow, zero));
    _mm256_store_si256(reinterpret_cast<__m256i*>(distances + 4), _mm256_sad_epu8(bytesHigh, zero));
    for (size_t lane = 0; lane < kBlockTemplates; ++lane) {
      if (distances[lane] < below) {
        indexOut[found] = static_cast<uint32_t>(b * kBlockTemplates + lane);
        distanceOut[found] = static_cast<uint16_t>(distances[lane]);
        ++found;
      }
    }
  }
  return found;
}

// Popcount of every byte (nibble lookup table).
FS_AVX2 __m256i bytePopcount(__m256i x) {
  const __m256i nibbleCounts =
      _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i lowNibbles = _mm256_set1_epi8(0x0f);
  return _mm256_add_epi8(_mm256_shuffle_epi8(nibbleCounts, _mm256_and_si256(x, lowNibbles)),
                         _mm256_shuffle_epi8(nibbleCounts, _mm256_and_si256(_mm256_srli_epi16(x, 4), lowNibbles)));
}

FS_AVX2 size_t weightedBelow(const uint64_t* blocks, size_t nBlocks, const QueryCodes& query, uint32_t below,
                             uint32_t* indexOut, uint16_t* costOut) {
  const __m256i zero = _mm256_setzero_si256();
  size_t found = 0;
  alignas(32) uint64_t costs[kBlockTemplates];
  for (size_t b = 0; b < nBlocks; ++b) {
    const uint64_t* block = blocks + b * kBlockWords;
    __m256i low = zero, high = zero;  // costs of templates 0-3 and 4-7, 64-bit lanes
    for (size_t p = 0; p < kWeightPlanes; ++p) {
      // Per-byte popcounts over 8 words stay <= 64: byte accumulators cannot overflow.
      __m256i bytesLow = zero, bytesHigh = zero;
      for (size_t w = 0; w < kSignWords; ++w) {
        const __m256i querySign = _mm256_set1_epi64x(static_cast<long long>(query.sign[w]));
        const __m256i plane = _mm256_set1_epi64x(static_cast<long long>(query.planes[p][w]));
        const __m256i g0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(block + w * 8));
        const __m256i g1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(block + w * 8 + 4));
        bytesLow = _mm256_add_epi8(bytesLow, bytePopcount(_mm256_and_si256(_mm256_xor_si256(g0, querySign), plane)));
        bytesHigh = _mm256_add_epi8(bytesHigh, bytePopcount(_mm256_and_si256(_mm256_xor_si256(g1, querySign), plane)));
      }
      const __m128i weight = _mm_cvtsi32_si128(static_cast<int>(p));  // plane p counts 2^p
      low = _mm256_add_epi64(low, _mm256_sll_epi64(_mm256_sad_epu8(bytesLow, zero), weight));
      high = _mm256_add_epi64(high, _mm256_sll_epi64(_mm256_sad_epu8(bytesHigh, zero), weight));
    }
    _mm256_store_si256(reinterpret_cast<__m256i*>(costs), low);
    _mm256_store_si256(reinterpret_cast<__m256i*>(costs + 4), high);
    for (size_t lane = 0; lane < kBlockTemplates; ++lane) {
      const auto cost = static_cast<uint32_t>(costs[lane]);
      if (cost < below) {
        indexOut[found] = static_cast<uint32_t>(b * kBlockTemplates + lane);
        costOut[found] = static_cast<uint16_t>(cost);
        ++found;
      }
    }
  }
  return found;
}

FS_AVX2 int32_t horizontalSum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

FS_AVX2 void offsetDots(const uint8_t* codes, size_t n, const QueryCodes& query, int32_t* out) {
  for (size_t t = 0; t < n; ++t) {
    const uint8_t* code = codes + t * kDims;
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    for (size_t i = 0; i < kDims; i += 32) {
      const __m256i g0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + i)));
      const __m256i g1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + i + 16)));
      acc0 = _mm256_add_epi32(
          acc0, _mm256_madd_epi16(g0, _mm256_load_si256(reinterpret_cast<const __m256i*>(query.code16 + i))));
      acc1 = _mm256_add_epi32(
          acc1, _mm256_madd_epi16(g1, _mm256_load_si256(reinterpret_cast<const __m256i*>(query.code16 + i + 16))));
    }
    out[t] = horizontalSum(_mm256_add_epi32(acc0, acc1));
  }
}

FS_AVX2 float floatDot(const uint8_t* code, const QueryCodes& query) {
  const __m128i offset = _mm_set1_epi8(static_cast<char>(0x80));
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (size_t i = 0; i < kDims; i += 16) {
    const __m128i bytes = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + i)), offset);
    const __m256 g0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
    const __m256 g1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(bytes, 8)));
    acc0 = _mm256_fmadd_ps(g0, _mm256_load_ps(query.unit + i), acc0);
    acc1 = _mm256_fmadd_ps(g1, _mm256_load_ps(query.unit + i + 8), acc1);
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
  return _mm_cvtss_f32(s);
}

}  // namespace

const Kernels& avx2Kernels() {
  static const Kernels kernels{KernelPath::Avx2, hammingBelow, weightedBelow, offsetDots, floatDot};
  return kernels;
}

}  // namespace faceserver::matcher
