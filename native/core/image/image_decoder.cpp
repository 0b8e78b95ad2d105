#include "image/image_decoder.h"

#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "errors.h"
#include "image/gif_decoder.h"
#include "image/ico_reader.h"

namespace faceserver {

namespace {

cv::Mat decodeWithOpenCv(const uint8_t* data, size_t size) {
  cv::Mat result;
  try {
    // IMREAD_COLOR: grey and RGBA become BGR, 16-bit becomes 8-bit, and EXIF orientation is applied.
    const cv::Mat encoded(1, static_cast<int>(size), CV_8UC1, const_cast<uint8_t*>(data));
    result = cv::imdecode(encoded, cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    throw EngineError(ErrorCode::CorruptImage, "image data is corrupt");
  }
  if (result.empty()) throw EngineError(ErrorCode::CorruptImage, "image data is corrupt or truncated");
  return result;
}

}  // namespace

DecodedImage decodeImage(const uint8_t* data, size_t size, const ImageLimits& limits) {
  if (data == nullptr || size == 0) throw EngineError(ErrorCode::CorruptImage, "image is empty");
  limits.checkBytes(size);
  const ImageHeader header = readImageHeader(data, size);
  if (header.width <= 0 || header.height <= 0) throw EngineError(ErrorCode::CorruptImage, "image has no pixels");
  limits.checkDimensions(header.width, header.height);

  DecodedImage image;
  image.format = header.format;
  if (header.format == ImageFormat::Gif) {
    image.bgr = decodeGifFirstFrame(data, size, limits);
  } else if (header.format == ImageFormat::Ico) {
    const std::vector<uint8_t> entry = extractIcoImage(data, size);
    image.bgr = decodeWithOpenCv(entry.data(), entry.size());
  } else {
    if (header.format == ImageFormat::Jpeg && !jpegIsComplete(data, size))
      throw EngineError(ErrorCode::CorruptImage, "JPEG is truncated (no end-of-image marker)");
    image.bgr = decodeWithOpenCv(data, size);
  }
  // A decoder may see more than the header said (e.g. a later JPEG frame): check what we actually got.
  limits.checkDimensions(image.bgr.cols, image.bgr.rows);
  if (image.bgr.type() != CV_8UC3) throw EngineError(ErrorCode::CorruptImage, "image decoded to an unexpected type");
  return image;
}

}  // namespace faceserver
