// Bounds-checked reads of little/big-endian integers from an untrusted byte buffer. Every read outside the
// buffer throws EngineError(CorruptImage): a header parser built on this cannot read past the end.
#pragma once

#include <cstddef>
#include <cstdint>

#include "errors.h"

namespace faceserver {

class ByteView {
 public:
  ByteView(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t size() const { return size_; }
  const uint8_t* data() const { return data_; }
  bool has(size_t offset, size_t count) const { return offset <= size_ && count <= size_ - offset; }

  uint8_t u8(size_t offset) const { return at(offset, 1)[0]; }
  uint16_t le16(size_t offset) const {
    const uint8_t* p = at(offset, 2);
    return static_cast<uint16_t>(p[0] | (p[1] << 8));
  }
  uint16_t be16(size_t offset) const {
    const uint8_t* p = at(offset, 2);
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
  }
  uint32_t le32(size_t offset) const {
    const uint8_t* p = at(offset, 4);
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
           (static_cast<uint32_t>(p[3]) << 24);
  }
  uint32_t be32(size_t offset) const {
    const uint8_t* p = at(offset, 4);
    return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
           (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
  }
  bool startsWith(size_t offset, const char* magic, size_t count) const {
    if (!has(offset, count)) return false;
    for (size_t i = 0; i < count; ++i)
      if (data_[offset + i] != static_cast<uint8_t>(magic[i])) return false;
    return true;
  }

 private:
  const uint8_t* at(size_t offset, size_t count) const {
    if (!has(offset, count)) throw EngineError(ErrorCode::CorruptImage, "image header is truncated");
    return data_ + offset;
  }

  const uint8_t* data_;
  size_t size_;
};

}  // namespace faceserver
