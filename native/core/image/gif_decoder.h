// GIF via giflib: the first frame only, composited on the logical screen (background colour where the frame
// does not cover it or is transparent). OpenCV 4.6 has no GIF decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <opencv2/core.hpp>

#include "image/image_limits.h"

namespace faceserver {

// Returns an 8-bit BGR image. Throws EngineError: CorruptImage (broken or truncated), ImageTooLarge.
cv::Mat decodeGifFirstFrame(const uint8_t* data, size_t size, const ImageLimits& limits);

}  // namespace faceserver
