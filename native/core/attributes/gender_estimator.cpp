#include "attributes/gender_estimator.h"

#include <algorithm>

namespace faceserver {

GenderResult GenderEstimator::estimate(const cv::Mat& bgr, const Face& face) {
  GenderResult r;
  r.maleScore = std::clamp(net_.estimate(bgr, face, 1.f), 0.f, 1.f);
  r.male = r.maleScore > kMaleThreshold;
  // Confidence in the chosen label: 0.5 at the threshold, rising linearly to 1 at either end of the scale.
  r.probability = r.male ? 0.5f + 0.5f * (r.maleScore - kMaleThreshold) / (1.f - kMaleThreshold)
                         : 0.5f + 0.5f * (kMaleThreshold - r.maleScore) / kMaleThreshold;
  return r;
}

}  // namespace faceserver
