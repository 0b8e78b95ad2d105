// Gender from fr_gender.onnx (SSR-Net, merge V=1, flip-averaged): male when the score is above kMaleThreshold.
#pragma once

#include <string>
#include <utility>

#include "attributes/attributes.h"
#include "attributes/ssr_net.h"

namespace faceserver {

class GenderEstimator {
 public:
  explicit GenderEstimator(cv::dnn::Net net) : net_(std::move(net)) {}
  GenderResult estimate(const cv::Mat& bgr, const Face& face);

  // Measured on ../shared/facedata with flip averaging: threshold 0.65 gives UTKFace (n=360) 74.2% (its best) and
  // LFW (n=300) 90.7% accuracy, 84.1% balanced; MODELS.md's 0.6 gave 73.1% and 87.7% / 77.4% balanced.
  static constexpr float kMaleThreshold = 0.65f;

 private:
  SsrNet net_;
};

}  // namespace faceserver
