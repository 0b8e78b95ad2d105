#include "face_crop.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace faceserver {

std::vector<uint8_t> faceCropJpeg(const cv::Mat& bgr, const cv::Rect2f& box, int size) {
  if (bgr.empty() || size <= 0) return {};
  const float side = std::max(box.width, box.height) * kFaceCropMargin;
  const float cx = box.x + box.width / 2.f;
  const float cy = box.y + box.height / 2.f;
  const int left = std::max(0, static_cast<int>(std::floor(cx - side / 2.f)));
  const int top = std::max(0, static_cast<int>(std::floor(cy - side / 2.f)));
  const int right = std::min(bgr.cols, static_cast<int>(std::ceil(cx + side / 2.f)));
  const int bottom = std::min(bgr.rows, static_cast<int>(std::ceil(cy + side / 2.f)));
  if (right - left < 1 || bottom - top < 1) return {};
  // Clipped at an edge the region is a rectangle: keep its centred square, as a "cover" fit would.
  const int square = std::min(right - left, bottom - top);
  const cv::Rect region(left + (right - left - square) / 2, top + (bottom - top - square) / 2, square, square);
  cv::Mat small;
  cv::resize(bgr(region), small, cv::Size(size, size), 0, 0, square > size ? cv::INTER_AREA : cv::INTER_LINEAR);
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", small, jpeg, {cv::IMWRITE_JPEG_QUALITY, kFaceCropJpegQuality});
  return jpeg;
}

}  // namespace faceserver
