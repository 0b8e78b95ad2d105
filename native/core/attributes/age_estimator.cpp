#include "attributes/age_estimator.h"

#include <algorithm>
#include <cmath>

namespace faceserver {

AgeResult AgeEstimator::estimate(const cv::Mat& bgr, const Face& face) {
  AgeResult r;
  r.years = std::clamp(net_.estimate(bgr, face, 101.f), 0.f, 101.f);
  const float half = std::max(kMinHalfWidth, kRangeFraction * r.years);
  r.low = std::max(0, static_cast<int>(std::floor(r.years - half)));
  r.high = static_cast<int>(std::ceil(r.years + half));
  r.probability = kRangeCoverage;
  return r;
}

}  // namespace faceserver
