#include "bodies.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "errors.h"

namespace faceserver {

BodyDetector::BodyDetector() {
  hog_.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
}

std::vector<Body> BodyDetector::detect(const cv::Mat& bgr, float minScore) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw EngineError(ErrorCode::InvalidArgument, "need an 8-bit BGR image");
  const double scale = std::min(1.0, static_cast<double>(kMaxSide) / std::max(bgr.cols, bgr.rows));
  cv::Mat work = bgr;
  if (scale < 1.0) cv::resize(bgr, work, cv::Size(), scale, scale, cv::INTER_AREA);
  if (work.cols < hog_.winSize.width || work.rows < hog_.winSize.height) return {};

  std::vector<cv::Rect> found;
  std::vector<double> weights;
  try {
    hog_.detectMultiScale(work, found, weights, /*hitThreshold=*/0, cv::Size(8, 8), cv::Size(8, 8), 1.05,
                          /*groupThreshold=*/2);
  } catch (const cv::Exception& e) {
    throw EngineError(ErrorCode::Internal, std::string("body detection failed: ") + e.what());
  }
  std::vector<Body> bodies;
  const cv::Rect2f frame(0.f, 0.f, static_cast<float>(bgr.cols), static_cast<float>(bgr.rows));
  for (size_t i = 0; i < found.size(); ++i) {
    const double margin = i < weights.size() ? weights[i] : 0.0;
    const float score = static_cast<float>(1.0 / (1.0 + std::exp(-margin)));
    if (score < minScore) continue;
    const cv::Rect2f r(static_cast<float>(found[i].x / scale), static_cast<float>(found[i].y / scale),
                       static_cast<float>(found[i].width / scale), static_cast<float>(found[i].height / scale));
    const cv::Rect2f clipped = r & frame;
    if (clipped.area() > 0.f) bodies.push_back({clipped, score});
  }
  std::sort(bodies.begin(), bodies.end(), [](const Body& a, const Body& b) { return a.score > b.score; });
  return bodies;
}

std::vector<Body> detectBodies(const cv::Mat& bgr, float minScore) {
  return BodyDetector().detect(bgr, minScore);
}

}  // namespace faceserver
