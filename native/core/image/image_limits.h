// Size limits for untrusted images, checked on the header before any pixel is decoded.
#pragma once

#include <cstddef>
#include <cstdint>

namespace faceserver {

struct ImageLimits {
  size_t maxBytes = 20u * 1024 * 1024;
  int64_t maxWidth = 10000;
  int64_t maxHeight = 10000;
  int64_t maxPixels = 10'000'000;  // 10 MP

  // Throws EngineError(ImageTooLarge) naming the limit that was exceeded.
  void checkDimensions(int64_t width, int64_t height) const;
  void checkBytes(size_t bytes) const;
};

}  // namespace faceserver
