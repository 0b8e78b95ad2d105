// A small square JPEG of one face, cut from the image the pipeline already decoded (the console's thumbnails of
// enrolled faces and recognition events): a second decode in JS cost ~3 ms CPU per event (benchmarks/RESULTS.md,
// "HTTP"); this costs a resize of the face region and a 112 px encode.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

namespace faceserver {

// How much larger than the detector's box the crop's side is (hair and chin make a face easier to tell).
constexpr float kFaceCropMargin = 1.5f;
constexpr int kFaceCropJpegQuality = 80;

// The square `kFaceCropMargin` times the box's longer side around its centre, clipped to the image and then
// cut to a centred square, resized to `size` x `size` and JPEG-encoded. Empty when the box lies outside.
std::vector<uint8_t> faceCropJpeg(const cv::Mat& bgr, const cv::Rect2f& box, int size);

}  // namespace faceserver
