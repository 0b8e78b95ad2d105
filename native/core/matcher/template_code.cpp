#include "template_code.h"

#include <immintrin.h>  // SSE2 (every x86-64 CPU) for queries and as the reference; AVX2 when the CPU has it

#include <cfloat>
#include <cmath>

#include "errors.h"
#include "runtime_info.h"

namespace faceserver::matcher {

namespace {

// Below this largest |component| a vector counts as zero (its direction is noise).
constexpr float kMinMaxAbs = 1e-30f;

float horizontalMax(__m128 v) {
  v = _mm_max_ps(v, _mm_movehl_ps(v, v));
  v = _mm_max_ss(v, _mm_shuffle_ps(v, v, 0x55));
  return _mm_cvtss_f32(v);
}

float horizontalSum(__m128 v) {
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_shuffle_ps(v, v, 0x55));
  return _mm_cvtss_f32(v);
}

// The largest |component|; throws on a non-finite value or a zero vector. Four accumulators: the loop
// runs once per template at load time, and one chain of max latencies would double its cost.
float largestMagnitude(const float* x) {
  const __m128 absMask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  const __m128 largest = _mm_set1_ps(FLT_MAX);
  __m128 max[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
  __m128 finite = _mm_castsi128_ps(_mm_set1_epi32(-1));
  for (size_t i = 0; i < kDims; i += 16) {
    for (size_t j = 0; j < 4; ++j) {
      const __m128 a = _mm_and_ps(_mm_loadu_ps(x + i + 4 * j), absMask);
      finite = _mm_and_ps(finite, _mm_cmple_ps(a, largest));  // false for NaN and infinities
      max[j] = _mm_max_ps(max[j], a);
    }
  }
  if (_mm_movemask_ps(finite) != 0xf) throw EngineError(ErrorCode::InvalidArgument, "embedding has a non-finite value");
  const float maxAbs = horizontalMax(_mm_max_ps(_mm_max_ps(max[0], max[1]), _mm_max_ps(max[2], max[3])));
  if (!(maxAbs >= kMinMaxAbs)) throw EngineError(ErrorCode::InvalidArgument, "embedding is a zero vector");
  return maxAbs;
}

// The largest |component| and the norm of embedding / that largest one (in [1, sqrt(512)], so no
// overflow or underflow whatever the embedding's scale). Validates on the way.
struct Magnitude {
  float maxAbs;
  float scaledNorm;
};

Magnitude measure(const float* x) {
  const float maxAbs = largestMagnitude(x);
  const __m128 inv = _mm_set1_ps(1.0f / maxAbs);
  __m128 sum[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
  for (size_t i = 0; i < kDims; i += 16) {
    for (size_t j = 0; j < 4; ++j) {
      const __m128 y = _mm_mul_ps(_mm_loadu_ps(x + i + 4 * j), inv);
      sum[j] = _mm_add_ps(sum[j], _mm_mul_ps(y, y));
    }
  }
  return {maxAbs, std::sqrt(horizontalSum(_mm_add_ps(_mm_add_ps(sum[0], sum[1]), _mm_add_ps(sum[2], sum[3]))))};
}

// code[i] = round-to-nearest(x[i] x 127 / maxAbs) (+ `offset`), sign bit i = x[i] > 0, residual bit i =
// the scaled value lies above its rounded code. Returns measure(x).scaledNorm, summed in the same order as
// there (so bit-identical): templates are encoded in two passes over the row instead of three.
float quantize(const float* x, float maxAbs, int8_t offset, int8_t* code, uint64_t* sign, uint64_t* residual) {
  const __m128 k = _mm_set1_ps(static_cast<float>(kCodeMax) / maxAbs);
  const __m128 inv = _mm_set1_ps(1.0f / maxAbs);
  const __m128i shift = _mm_set1_epi8(offset);
  const __m128 zero = _mm_setzero_ps();
  __m128 sum[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
  for (size_t w = 0; w < kSignWords; ++w) sign[w] = residual[w] = 0;
  for (size_t i = 0; i < kDims; i += 16) {
    __m128i q[4];
    uint64_t signBits = 0, residualBits = 0;
    for (size_t j = 0; j < 4; ++j) {
      const __m128 v = _mm_loadu_ps(x + i + 4 * j);
      const __m128 y = _mm_mul_ps(v, inv);
      sum[j] = _mm_add_ps(sum[j], _mm_mul_ps(y, y));
      const __m128 scaled = _mm_mul_ps(v, k);  // |x x k| <= 127 (+ rounding); the packs saturate anyway
      q[j] = _mm_cvtps_epi32(scaled);
      signBits |= static_cast<uint64_t>(_mm_movemask_ps(_mm_cmpgt_ps(v, zero))) << (4 * j);
      residualBits |= static_cast<uint64_t>(_mm_movemask_ps(_mm_cmpgt_ps(scaled, _mm_cvtepi32_ps(q[j])))) << (4 * j);
    }
    const __m128i bytes = _mm_packs_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(code + i), _mm_add_epi8(bytes, shift));
    sign[i / 64] |= signBits << (i % 64);
    residual[i / 64] |= residualBits << (i % 64);
  }
  return std::sqrt(horizontalSum(_mm_add_ps(_mm_add_ps(sum[0], sum[1]), _mm_add_ps(sum[2], sum[3]))));
}

// The same two passes 8 floats wide, for templates (a load of millions spends its time here). Bit-identical
// to the SSE2 code: max and per-element products do not depend on width, and the norm keeps the SSE2 code's 16
// partial sums (lanes 0-7 of `low` = its sum[0], sum[1]; of `high` = sum[2], sum[3]), added up in its order. No
// "fma" target: a contracted multiply-add would round differently.
#define FS_AVX2 __attribute__((target("avx2")))

FS_AVX2 float largestMagnitudeAvx2(const float* x) {
  const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 largest = _mm256_set1_ps(FLT_MAX);
  __m256 max0 = _mm256_setzero_ps(), max1 = _mm256_setzero_ps();
  __m256 finite = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
  for (size_t i = 0; i < kDims; i += 16) {
    const __m256 a0 = _mm256_and_ps(_mm256_loadu_ps(x + i), absMask);
    const __m256 a1 = _mm256_and_ps(_mm256_loadu_ps(x + i + 8), absMask);
    finite = _mm256_and_ps(finite, _mm256_and_ps(_mm256_cmp_ps(a0, largest, _CMP_LE_OQ),
                                                 _mm256_cmp_ps(a1, largest, _CMP_LE_OQ)));  // false for NaN, inf
    max0 = _mm256_max_ps(max0, a0);
    max1 = _mm256_max_ps(max1, a1);
  }
  if (_mm256_movemask_ps(finite) != 0xff) {
    throw EngineError(ErrorCode::InvalidArgument, "embedding has a non-finite value");
  }
  const __m256 m = _mm256_max_ps(max0, max1);
  const float maxAbs = horizontalMax(_mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1)));
  if (!(maxAbs >= kMinMaxAbs)) throw EngineError(ErrorCode::InvalidArgument, "embedding is a zero vector");
  return maxAbs;
}

FS_AVX2 float quantizeAvx2(const float* x, float maxAbs, int8_t offset, int8_t* code, uint64_t* sign,
                           uint64_t* residual) {
  const __m256 k = _mm256_set1_ps(static_cast<float>(kCodeMax) / maxAbs);
  const __m256 inv = _mm256_set1_ps(1.0f / maxAbs);
  const __m256i shift = _mm256_set1_epi8(offset);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);  // undoes the in-lane packs
  const __m256 zero = _mm256_setzero_ps();
  __m256 low = _mm256_setzero_ps(), high = _mm256_setzero_ps();
  for (size_t w = 0; w < kSignWords; ++w) sign[w] = residual[w] = 0;
  for (size_t i = 0; i < kDims; i += 32) {
    __m256i q[4];
    uint64_t signBits = 0, residualBits = 0;
    for (size_t j = 0; j < 4; ++j) {
      const __m256 v = _mm256_loadu_ps(x + i + 8 * j);
      const __m256 y = _mm256_mul_ps(v, inv);
      if (j % 2 == 0) {
        low = _mm256_add_ps(low, _mm256_mul_ps(y, y));
      } else {
        high = _mm256_add_ps(high, _mm256_mul_ps(y, y));
      }
      const __m256 scaled = _mm256_mul_ps(v, k);
      q[j] = _mm256_cvtps_epi32(scaled);
      signBits |= static_cast<uint64_t>(_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ))) << (8 * j);
      residualBits |=
          static_cast<uint64_t>(_mm256_movemask_ps(_mm256_cmp_ps(scaled, _mm256_cvtepi32_ps(q[j]), _CMP_GT_OQ)))
          << (8 * j);
    }
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(code + i),
                        _mm256_add_epi8(_mm256_permutevar8x32_epi32(bytes, order), shift));
    sign[i / 64] |= signBits << (i % 64);
    residual[i / 64] |= residualBits << (i % 64);
  }
  const __m128 sum = _mm_add_ps(_mm_add_ps(_mm256_castps256_ps128(low), _mm256_extractf128_ps(low, 1)),
                                _mm_add_ps(_mm256_castps256_ps128(high), _mm256_extractf128_ps(high, 1)));
  return std::sqrt(horizontalSum(sum));
}

}  // namespace

float encodeTemplate(const float* embedding, uint8_t* offsetCode, uint64_t* sign, uint64_t* residual, bool wide) {
  static const bool avx2 = cpuFeatures().avx2;
  auto* code = reinterpret_cast<int8_t*>(offsetCode);
  float scaledNorm;
  if (wide && avx2) {
    scaledNorm = quantizeAvx2(embedding, largestMagnitudeAvx2(embedding), -128, code, sign, residual);
  } else {
    scaledNorm = quantize(embedding, largestMagnitude(embedding), -128, code, sign, residual);  // validates first
  }
  // code = x x 127 / maxAbs and unit = x / |x|, so unit = code x maxAbs / (127 |x|) = code / (127 scaledNorm).
  return 1.0f / (static_cast<float>(kCodeMax) * scaledNorm);
}

void validateEmbedding(const float* embedding) {
  measure(embedding);
}

void normalizeEmbedding(const float* embedding, float* unit) {
  const Magnitude m = measure(embedding);
  const float inv = 1.0f / m.maxAbs, invNorm = 1.0f / m.scaledNorm;  // two steps: no overflow at any scale
  for (size_t i = 0; i < kDims; ++i) unit[i] = embedding[i] * inv * invNorm;
}

void encodeQuery(const float* embedding, QueryCodes& query) {
  const Magnitude m = measure(embedding);
  normalizeEmbedding(embedding, query.unit);
  uint64_t unusedResidual[kSignWords];
  quantize(embedding, m.maxAbs, 0, query.code, query.sign, unusedResidual);
  query.scale = 1.0f / (static_cast<float>(kCodeMax) * m.scaledNorm);
  query.codeSum = 0;
  query.unitSum = 0;
  for (size_t i = 0; i < kDims; ++i) {
    query.code16[i] = query.code[i];
    query.codeSum += query.code[i];
    query.unitSum += query.unit[i];
  }
  // |weights| 0..3 over the largest component, as bit planes (plane p holds bit p of each weight).
  for (auto& plane : query.planes) {
    for (auto& word : plane) word = 0;
  }
  const float k = static_cast<float>(kWeightMax) / m.maxAbs;
  for (size_t i = 0; i < kDims; ++i) {
    const auto weight = static_cast<unsigned>(std::lrint(std::fabs(embedding[i]) * k));
    for (size_t p = 0; p < kWeightPlanes; ++p) query.planes[p][i / 64] |= uint64_t{(weight >> p) & 1u} << (i % 64);
  }
}

float residualCorrection(const uint64_t* residual, const QueryCodes& query) {
  // sum of unit[i] x (+-0.25) = 0.25 x (2 x sum over set bits of unit[i] - sum of unit[i])
  float above = 0;
  for (size_t i = 0; i < kDims; ++i) {
    if ((residual[i / 64] >> (i % 64)) & 1) above += query.unit[i];
  }
  return 0.25f * (2 * above - query.unitSum);
}

}  // namespace faceserver::matcher
