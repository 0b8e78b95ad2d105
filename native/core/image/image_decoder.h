// Untrusted bytes -> 8-bit BGR image: format sniffing, limits checked on the header before decoding, then
// OpenCV (JPEG, PNG, BMP, TIFF, WebP; EXIF orientation applied), giflib (GIF) or our ICO reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <opencv2/core.hpp>

#include "image/image_header.h"
#include "image/image_limits.h"

namespace faceserver {

struct DecodedImage {
  cv::Mat bgr;  // CV_8UC3, oriented
  ImageFormat format = ImageFormat::Unknown;
};

// Throws EngineError: UnsupportedFormat, CorruptImage (incl. empty or truncated), ImageTooLarge.
DecodedImage decodeImage(const uint8_t* data, size_t size, const ImageLimits& limits);

}  // namespace faceserver
