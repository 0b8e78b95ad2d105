#include "template_code.h"

#include <cmath>

#include "errors.h"

namespace faceserver::matcher {

namespace {

int8_t quantize(float x) {
  // Round half away from zero by truncation (a plain cvttss2si; std::lround is a library call, and bulk
  // loading 1M templates quantises 512M values).
  const float v = x * kCodeScale;
  const int q = static_cast<int>(v + (v >= 0 ? 0.5f : -0.5f));
  return static_cast<int8_t>(q > kCodeMax ? kCodeMax : (q < -kCodeMax ? -kCodeMax : q));
}

}  // namespace

void normalizeEmbedding(const float* embedding, float* unit) {
  double norm2 = 0;
  for (size_t i = 0; i < kDims; ++i) {
    if (!std::isfinite(embedding[i])) throw EngineError(ErrorCode::InvalidArgument, "embedding has a non-finite value");
    norm2 += static_cast<double>(embedding[i]) * embedding[i];
  }
  if (!(norm2 > 1e-20)) throw EngineError(ErrorCode::InvalidArgument, "embedding is a zero vector");
  const double inv = 1.0 / std::sqrt(norm2);
  for (size_t i = 0; i < kDims; ++i) unit[i] = static_cast<float>(embedding[i] * inv);
}

void encodeUnit(const float* unit, uint8_t* offsetCode, uint64_t* sign) {
  for (size_t w = 0; w < kSignWords; ++w) sign[w] = 0;
  for (size_t i = 0; i < kDims; ++i) {
    offsetCode[i] = static_cast<uint8_t>(quantize(unit[i]) + 128);
    if (unit[i] > 0) sign[i / 64] |= uint64_t{1} << (i % 64);
  }
}

void encodeQuery(const float* embedding, QueryCodes& query) {
  normalizeEmbedding(embedding, query.unit);
  uint8_t offset[kDims];
  encodeUnit(query.unit, offset, query.sign);
  query.codeSum = 0;
  for (size_t i = 0; i < kDims; ++i) {
    query.code[i] = static_cast<int8_t>(static_cast<int>(offset[i]) - 128);
    query.code16[i] = query.code[i];
    query.codeSum += query.code[i];
  }
}

}  // namespace faceserver::matcher
