// AVX-512 kernels: VPOPCNTQ over the block layout (8 templates per register), VNNI vpdpbusd for int8 dots
// (unsigned offset-binary gallery bytes x signed query bytes), float dots with FMA.
// GCC 12's AVX-512 headers build their "undefined" vectors from themselves, which -Wuninitialized flags
// inside every inlined reduce/extract intrinsic (a GCC bug, not ours).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "kernels.h"

#define FS_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vpopcntdq,avx2,fma,popcnt")))

namespace faceserver::matcher {

namespace {

FS_AVX512 size_t hammingBelow(const uint64_t* blocks, size_t nBlocks, const uint64_t* querySign, uint32_t below,
                              uint32_t* indexOut, uint16_t* distanceOut) {
  __m512i query[kSignWords];
  for (size_t w = 0; w < kSignWords; ++w) query[w] = _mm512_set1_epi64(static_cast<long long>(querySign[w]));
  const __m512i limit = _mm512_set1_epi64(below);
  size_t found = 0;
  for (size_t b = 0; b < nBlocks; ++b) {
    const uint64_t* block = blocks + b * kBlockWords;
    __m512i d0 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_load_si512(block + 0), query[0]));
    __m512i d1 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_load_si512(block + 8), query[1]));
    d0 = _mm512_add_epi64(d0, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_load_si512(block + 16), query[2])));
    d1 = _mm512_add_epi64(d1, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_load_si512(block + 24), query[3])));
    d0 = _mm512_add_epi64(d0, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_load_si512(block + 32), query[4])));
    d1 = _mm512_add_epi64(d1, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_load_si512(block + 40), query[5])));
    d0 = _mm512_add_epi64(d0, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_load_si512(block + 48), query[6])));
    d1 = _mm512_add_epi64(d1, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_load_si512(block + 56), query[7])));
    const __m512i distance = _mm512_add_epi64(d0, d1);
    __mmask8 hits = _mm512_cmplt_epu64_mask(distance, limit);
    if (hits == 0) continue;  // the common case once the candidate list is full
    alignas(64) uint64_t lanes[kBlockTemplates];
    _mm512_store_si512(lanes, distance);
    while (hits) {
      const unsigned lane = static_cast<unsigned>(__builtin_ctz(hits));
      hits = static_cast<__mmask8>(hits & (hits - 1));
      indexOut[found] = static_cast<uint32_t>(b * kBlockTemplates + lane);
      distanceOut[found] = static_cast<uint16_t>(lanes[lane]);
      ++found;
    }
  }
  return found;
}

FS_AVX512 size_t weightedBelow(const uint64_t* blocks, size_t nBlocks, const QueryCodes& query, uint32_t below,
                               uint32_t* indexOut, uint16_t* costOut) {
  static_assert(kWeightPlanes == 2, "the kernel unrolls two planes");
  const __m512i limit = _mm512_set1_epi64(below);
  size_t found = 0;
  for (size_t b = 0; b < nBlocks; ++b) {
    const uint64_t* block = blocks + b * kBlockWords;
    __m512i c0 = _mm512_setzero_si512(), c1 = _mm512_setzero_si512();
    for (size_t w = 0; w < kSignWords; ++w) {
      // set1 from memory becomes an embedded broadcast operand: no registers held for the query words.
      const __m512i differ =
          _mm512_xor_si512(_mm512_load_si512(block + w * kBlockTemplates), _mm512_set1_epi64(query.sign[w]));
      c0 = _mm512_add_epi64(c0, _mm512_popcnt_epi64(_mm512_and_si512(differ, _mm512_set1_epi64(query.planes[0][w]))));
      c1 = _mm512_add_epi64(c1, _mm512_popcnt_epi64(_mm512_and_si512(differ, _mm512_set1_epi64(query.planes[1][w]))));
    }
    const __m512i cost = _mm512_add_epi64(c0, _mm512_slli_epi64(c1, 1));
    __mmask8 hits = _mm512_cmplt_epu64_mask(cost, limit);
    if (hits == 0) continue;
    alignas(64) uint64_t lanes[kBlockTemplates];
    _mm512_store_si512(lanes, cost);
    while (hits) {
      const unsigned lane = static_cast<unsigned>(__builtin_ctz(hits));
      hits = static_cast<__mmask8>(hits & (hits - 1));
      indexOut[found] = static_cast<uint32_t>(b * kBlockTemplates + lane);
      costOut[found] = static_cast<uint16_t>(lanes[lane]);
      ++found;
    }
  }
  return found;
}

FS_AVX512 void offsetDots(const uint8_t* codes, size_t n, const QueryCodes& query, int32_t* out) {
  __m512i q[8];
  for (size_t j = 0; j < 8; ++j) q[j] = _mm512_load_si512(query.code + j * 64);
  size_t t = 0;
  for (; t + 4 <= n; t += 4) {  // four templates at once: independent dependency chains
    const uint8_t* c = codes + t * kDims;
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
    __m512i a2 = _mm512_setzero_si512(), a3 = _mm512_setzero_si512();
    for (size_t j = 0; j < 8; ++j) {
      a0 = _mm512_dpbusd_epi32(a0, _mm512_load_si512(c + j * 64), q[j]);
      a1 = _mm512_dpbusd_epi32(a1, _mm512_load_si512(c + kDims + j * 64), q[j]);
      a2 = _mm512_dpbusd_epi32(a2, _mm512_load_si512(c + 2 * kDims + j * 64), q[j]);
      a3 = _mm512_dpbusd_epi32(a3, _mm512_load_si512(c + 3 * kDims + j * 64), q[j]);
    }
    out[t] = _mm512_reduce_add_epi32(a0);
    out[t + 1] = _mm512_reduce_add_epi32(a1);
    out[t + 2] = _mm512_reduce_add_epi32(a2);
    out[t + 3] = _mm512_reduce_add_epi32(a3);
  }
  for (; t < n; ++t) {
    const uint8_t* c = codes + t * kDims;
    __m512i a = _mm512_setzero_si512();
    for (size_t j = 0; j < 8; ++j) a = _mm512_dpbusd_epi32(a, _mm512_loadu_si512(c + j * 64), q[j]);
    out[t] = _mm512_reduce_add_epi32(a);
  }
}

FS_AVX512 float floatDot(const uint8_t* code, const QueryCodes& query) {
  const __m128i offset = _mm_set1_epi8(static_cast<char>(0x80));
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  for (size_t i = 0; i < kDims; i += 32) {
    const __m128i b0 = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + i)), offset);
    const __m128i b1 = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + i + 16)), offset);
    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b0)), _mm512_load_ps(query.unit + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b1)), _mm512_load_ps(query.unit + i + 16), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

}  // namespace

const Kernels& avx512Kernels() {
  static const Kernels kernels{KernelPath::Avx512, hammingBelow, weightedBelow, offsetDots, floatDot};
  return kernels;
}

}  // namespace faceserver::matcher
