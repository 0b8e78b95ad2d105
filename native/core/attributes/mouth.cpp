#include "attributes/mouth.h"

#include <algorithm>
#include <opencv2/core.hpp>

namespace faceserver {

MouthResult measureMouth(const Face& face) {
  const auto& p = face.landmarks;
  // Inner lips: upper 61, 62, 63 face lower 67, 66, 65; corners 48 and 54.
  const double gap = (cv::norm(p[61] - p[67]) + cv::norm(p[62] - p[66]) + cv::norm(p[63] - p[65])) / 3.0;
  const double width = cv::norm(p[54] - p[48]);
  MouthResult r;
  r.opening = width > 1e-3 ? static_cast<float>(std::min(gap / width, 10.0)) : 0.f;
  r.open = r.opening > kMouthOpenThreshold;
  return r;
}

}  // namespace faceserver
