// 5-point similarity alignment to the recogniser's 112x112 reference layout (MODELS.md).
#pragma once

#include <array>
#include <opencv2/core.hpp>

namespace faceserver {

constexpr int kAlignedSide = 112;

// The rotation + uniform scale + translation (2x3) that maps `from` onto `to` with the least squared error.
cv::Mat similarityTransform(const std::array<cv::Point2f, 5>& from, const std::array<cv::Point2f, 5>& to);

// The 112x112 BGR face crop whose 5 points land on the reference points.
cv::Mat alignFace(const cv::Mat& bgr, const std::array<cv::Point2f, 5>& points);

}  // namespace faceserver
