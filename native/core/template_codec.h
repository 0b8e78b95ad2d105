// Face templates: the binary form of an embedding that is stored and exchanged (base64 in the APIs), plus the
// compact codes the matcher uses (int8 for rescoring, a 512-bit sign code as a popcount pre-filter).
//
// Binary layout (little-endian), 16-byte header then the payload:
//   0  4 bytes  magic "FSTM"
//   4  u8       format version (1)
//   5  u8       dtype (1 = float32)
//   6  u16      dims (512)
//   8  u32      model id: the first 4 bytes of fr_feature.onnx's sha256 (0x87aacdfe)
//  12  u16      pipeline version: alignment + preprocessing + flip averaging; bumped when embeddings change
//  14  u16      reserved (0)
//  16  dims * 4 bytes of float32, the L2-normalised embedding
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace faceserver {

constexpr uint32_t kTemplateModelId = 0x87aacdfe;
constexpr uint16_t kTemplatePipelineVersion = 1;
constexpr size_t kTemplateHeaderBytes = 16;

// Throws EngineError(InvalidArgument) unless embedding has 512 finite values.
std::vector<uint8_t> encodeTemplate(const std::vector<float>& embedding);

// Throws EngineError(TemplateMismatch) for another magic, format, dtype, size, model or pipeline version.
std::vector<float> decodeTemplate(const uint8_t* data, size_t size);

// round(x * 400) saturated to [-127, 127]: keeps cosine within ~0.004 of float for unit vectors.
std::vector<int8_t> int8Code(const std::vector<float>& embedding);

// Bit i (of byte i / 8, LSB first) set when component i is positive: 512 bits = 64 bytes.
std::vector<uint8_t> signCode(const std::vector<float>& embedding);

}  // namespace faceserver
