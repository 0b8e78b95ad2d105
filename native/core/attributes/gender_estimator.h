// Gender from fr_gender.onnx (SSR-Net, merge V=1): male when the score is above kMaleThreshold.
#pragma once

#include <string>

#include "attributes/attributes.h"
#include "attributes/ssr_net.h"

namespace faceserver {

class GenderEstimator {
 public:
  explicit GenderEstimator(const std::string& modelPath) : net_(modelPath) {}
  GenderResult estimate(const cv::Mat& bgr, const Face& face);

  // MODELS.md's 0.6, confirmed on ../shared/facedata: the best balanced accuracy on UTKFace (n=360) is at 0.60
  // (70.8%); on 300 LFW images 0.65 is best (80.9% balanced vs 79.3% at 0.6, 89.0% plain accuracy at 0.6).
  static constexpr float kMaleThreshold = 0.6f;

 private:
  SsrNet net_;
};

}  // namespace faceserver
