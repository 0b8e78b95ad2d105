// The two codes the matcher keeps per face template (never the float vector, to stay under 700 B each):
// - an int8 code with its own scale: component i of the embedding x 127 / max|component|, rounded to
//   nearest, so the largest component maps to +-127 and no precision is lost to saturation or to a fixed
//   scale chosen for the worst template (cosine within ~0.002 of float; a fixed x400 gave ~0.0035). Stored
//   as offset binary (code + 128) so the AVX-512 VNNI kernel can multiply unsigned gallery bytes by signed
//   query bytes (vpdpbusd). Beside it a float `scale`: code . unitQuery x scale = cosine.
// - a 512-bit sign code: bit i = component i > 0, for the popcount pre-filter.
// - a 512-bit residual code: bit i = the int8 rounding went down (the true value lies above the code), so
//   code + 0.25 x (bit ? 1 : -1) halves the rounding error. Read only to re-rank the last few candidates,
//   where near-ties within int8 error decide the top-1.
#pragma once

#include <cstddef>
#include <cstdint>

namespace faceserver::matcher {

constexpr size_t kDims = 512;
constexpr size_t kSignWords = kDims / 64;  // 8 x 64-bit words per sign code
constexpr int kCodeMax = 127;
// The weighted pre-filter: a Hamming distance in which each disagreeing bit i counts the query's own
// |component i|, quantised to 0..3 (two bit planes, so 2 popcounts per word). It ranks templates exactly
// as <quantised query, sign(template)> does (that sum = constant - 2 x this cost), an estimate of the
// cosine with about half the noise of the plain Hamming distance between two sign codes.
constexpr size_t kWeightPlanes = 2;
constexpr uint32_t kWeightMax = (1u << kWeightPlanes) - 1;  // |weight| = round(|q_i| x 3 / max |q|)
constexpr uint32_t kWeightedCostMax = kWeightMax * kDims;   // costs lie in 0..this, lower is better

// A query in every form a kernel wants; built once per search from the float query.
struct QueryCodes {
  alignas(64) float unit[kDims];      // the query, L2-normalised
  alignas(64) int8_t code[kDims];     // its int8 code (signed, own scale)
  alignas(64) int16_t code16[kDims];  // the same code widened, for kernels without VNNI
  alignas(64) uint64_t sign[kSignWords];
  alignas(64) uint64_t planes[kWeightPlanes][kSignWords];  // bit planes of the query's |weights|
  int32_t codeSum = 0;                                     // sum of code[i]; removes the +128 offset of gallery bytes
  float scale = 0;                                         // code . unitGallery x scale = cosine
  float unitSum = 0;                                       // sum of unit[i], for the residual correction
};

// Codes of one gallery embedding (need not be normalised): offset-binary int8 (code + 128), the sign bits
// and the residual bits; returns the code's scale (offset-removed code . unit query x scale = cosine). Throws
// InvalidArgument on a non-finite value or a zero vector, before writing anything. `wide` = false: the SSE2
// code whatever the CPU (tests compare it with the AVX2 one, which must give the same bits).
float encodeTemplate(const float* embedding, uint8_t* offsetCode, uint64_t* sign, uint64_t* residual, bool wide = true);

// The residual correction of a code: sum over i of unit[i] x (residual bit i ? +0.25 : -0.25). Added to
// code . unit before the scale, it gives the cosine at about half the int8 error.
float residualCorrection(const uint64_t* residual, const QueryCodes& query);

// Every form of a (not necessarily normalised) query. Throws like encodeTemplate.
void encodeQuery(const float* embedding, QueryCodes& query);

// Throws like encodeTemplate; changes nothing.
void validateEmbedding(const float* embedding);

// L2-normalises `embedding` into `unit` (tests and tools). Throws like encodeTemplate.
void normalizeEmbedding(const float* embedding, float* unit);

}  // namespace faceserver::matcher
