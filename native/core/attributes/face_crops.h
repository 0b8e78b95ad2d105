// Crop geometry shared by the attribute models: where each model looks, in image pixels, and a crop that
// never reads outside the image (parts outside repeat the image's edge pixels).
#pragma once

#include <array>
#include <opencv2/core.hpp>

namespace faceserver {

// The detector box made square (side = its height, same centre), the shape the crops below start from.
cv::Rect2f squareBox(const cv::Rect2f& box);

// A square `scale` times the square box, same centre.
cv::Rect2f scaledSquare(const cv::Rect2f& box, float scale);

// Copies `region` of `image`; pixels outside the image repeat its edge. Empty region -> empty Mat.
// Throws EngineError(InvalidArgument) for a region too large to be a face crop (over 2x the image's sides).
cv::Mat cropWithBorder(const cv::Mat& image, const cv::Rect2f& region);

// Moves a square region so it lies inside the image, shrinking it first if it is larger than the image.
cv::Rect2f fitInside(const cv::Rect2f& region, const cv::Size& imageSize);

// Mean of the given landmark indices.
cv::Point2f meanPoint(const std::array<cv::Point2f, 68>& points, std::initializer_list<int> indices);

// Centres of the eyes as seen in the image: left = iBUG 36-41, right = iBUG 42-47.
cv::Point2f leftEyeCentre(const std::array<cv::Point2f, 68>& points);
cv::Point2f rightEyeCentre(const std::array<cv::Point2f, 68>& points);

}  // namespace faceserver
