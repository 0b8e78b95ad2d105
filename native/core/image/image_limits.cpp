#include "image/image_limits.h"

#include <string>

#include "errors.h"

namespace faceserver {

void ImageLimits::checkDimensions(int64_t width, int64_t height) const {
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  if (width > maxWidth) throw EngineError(ErrorCode::ImageTooLarge, "image width " + size + " over the limit");
  if (height > maxHeight) throw EngineError(ErrorCode::ImageTooLarge, "image height " + size + " over the limit");
  if (width > 0 && height > maxPixels / width)  // = width * height > maxPixels, without overflow
    throw EngineError(ErrorCode::ImageTooLarge, "image " + size + " has more pixels than the limit");
}

void ImageLimits::checkBytes(size_t bytes) const {
  if (bytes > maxBytes)
    throw EngineError(ErrorCode::ImageTooLarge, "image of " + std::to_string(bytes) + " bytes over the limit");
}

}  // namespace faceserver
