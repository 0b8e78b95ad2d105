// Passive liveness from fr_liveness.onnx (MiniFASNet-like): the probability that the face is a live person.
// Validated only on the four demo images in ../shared/facedata/liveness: a smoke test, not a rate.
#pragma once

#include <opencv2/dnn.hpp>
#include <string>
#include <utility>

#include "attributes/attributes.h"

namespace faceserver {

class LivenessEstimator {
 public:
  explicit LivenessEstimator(cv::dnn::Net net) : net_(std::move(net)) {}
  LivenessResult estimate(const cv::Mat& bgr, const Face& face);

  static constexpr float kRealThreshold = 0.5f;

 private:
  cv::dnn::Net net_;
};

}  // namespace faceserver
