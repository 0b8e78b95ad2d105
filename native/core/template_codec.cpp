#include "template_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "errors.h"
#include "extractor.h"

namespace faceserver {

namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kDtypeFloat32 = 1;

void putLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void putLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

void checkEmbedding(const std::vector<float>& embedding) {
  if (embedding.size() != kEmbeddingDims)
    throw EngineError(ErrorCode::InvalidArgument, "an embedding has " + std::to_string(kEmbeddingDims) + " values");
  if (!std::all_of(embedding.begin(), embedding.end(), [](float v) { return std::isfinite(v); }))
    throw EngineError(ErrorCode::InvalidArgument, "an embedding holds finite numbers only");
}

[[noreturn]] void mismatch(const std::string& why) {
  throw EngineError(ErrorCode::TemplateMismatch, "template does not match this engine: " + why);
}

}  // namespace

std::vector<uint8_t> encodeTemplate(const std::vector<float>& embedding) {
  checkEmbedding(embedding);
  std::vector<uint8_t> out(kTemplateHeaderBytes + kEmbeddingDims * sizeof(float), 0);
  std::memcpy(out.data(), "FSTM", 4);
  out[4] = kFormatVersion;
  out[5] = kDtypeFloat32;
  putLe16(&out[6], kEmbeddingDims);
  putLe32(&out[8], kTemplateModelId);
  putLe16(&out[12], kTemplatePipelineVersion);
  for (size_t i = 0; i < embedding.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &embedding[i], sizeof bits);
    putLe32(&out[kTemplateHeaderBytes + 4 * i], bits);
  }
  return out;
}

std::vector<float> decodeTemplate(const uint8_t* data, size_t size) {
  if (data == nullptr || size < kTemplateHeaderBytes || std::memcmp(data, "FSTM", 4) != 0)
    mismatch("not a faceserver template");
  if (data[4] != kFormatVersion) mismatch("format version " + std::to_string(data[4]));
  if (data[5] != kDtypeFloat32) mismatch("dtype " + std::to_string(data[5]));
  if (le16(data + 6) != kEmbeddingDims) mismatch(std::to_string(le16(data + 6)) + " dimensions");
  if (le32(data + 8) != kTemplateModelId) mismatch("made by another recognition model");
  if (le16(data + 12) != kTemplatePipelineVersion) mismatch("pipeline version " + std::to_string(le16(data + 12)));
  if (size != kTemplateHeaderBytes + kEmbeddingDims * sizeof(float)) mismatch("wrong length");
  std::vector<float> embedding(kEmbeddingDims);
  for (size_t i = 0; i < embedding.size(); ++i) {
    const uint32_t bits = le32(data + kTemplateHeaderBytes + 4 * i);
    std::memcpy(&embedding[i], &bits, sizeof bits);
  }
  if (!std::all_of(embedding.begin(), embedding.end(), [](float v) { return std::isfinite(v); }))
    mismatch("holds non-finite values");
  return embedding;
}

std::vector<int8_t> int8Code(const std::vector<float>& embedding) {
  checkEmbedding(embedding);
  std::vector<int8_t> code(embedding.size());
  for (size_t i = 0; i < embedding.size(); ++i)
    code[i] = static_cast<int8_t>(std::clamp(std::lround(embedding[i] * 400.f), -127L, 127L));
  return code;
}

std::vector<uint8_t> signCode(const std::vector<float>& embedding) {
  checkEmbedding(embedding);
  std::vector<uint8_t> bits(embedding.size() / 8, 0);
  for (size_t i = 0; i < embedding.size(); ++i)
    if (embedding[i] > 0.f) bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  return bits;
}

}  // namespace faceserver
