// The two codes the matcher keeps per face template (never the float vector, to stay under ~600 B each):
// - an int8 code: each component of the L2-normalised embedding x 400, rounded and saturated to [-127, 127]
//   (keeps cosine within ~0.0035 of float, see docs MODELS.md). Stored as offset binary (code + 128) so the
//   AVX-512 VNNI kernel can multiply unsigned gallery bytes by signed query bytes (vpdpbusd).
// - a 512-bit sign code: bit i = component i > 0, for the popcount pre-filter.
#pragma once

#include <cstddef>
#include <cstdint>

namespace faceserver::matcher {

constexpr size_t kDims = 512;
constexpr size_t kSignWords = kDims / 64;  // 8 x 64-bit words per sign code
constexpr float kCodeScale = 400.0f;       // int8 code = round(x * 400)
constexpr int kCodeMax = 127;

// A query in every form a kernel wants; built once per search from the float query.
struct QueryCodes {
  alignas(64) float unit[kDims];      // the query, L2-normalised
  alignas(64) int8_t code[kDims];     // its int8 code (signed)
  alignas(64) int16_t code16[kDims];  // the same code widened, for kernels without VNNI
  alignas(64) uint64_t sign[kSignWords];
  int32_t codeSum = 0;  // sum of code[i]; removes the +128 offset of gallery bytes
};

// L2-normalises `embedding` into `unit`. Throws InvalidArgument on a non-finite value or a zero vector.
void normalizeEmbedding(const float* embedding, float* unit);

// Codes of one normalised vector: offset-binary int8 (code + 128) and the sign bits.
void encodeUnit(const float* unit, uint8_t* offsetCode, uint64_t* sign);

// Every form of a (not necessarily normalised) query.
void encodeQuery(const float* embedding, QueryCodes& query);

}  // namespace faceserver::matcher
