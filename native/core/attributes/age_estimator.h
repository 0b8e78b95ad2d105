// Age in years from fr_age.onnx (SSR-Net, merge V=101), with a low/high range like CompreFace's.
#pragma once

#include <string>
#include <utility>

#include "attributes/attributes.h"
#include "attributes/ssr_net.h"

namespace faceserver {

class AgeEstimator {
 public:
  explicit AgeEstimator(cv::dnn::Net net) : net_(std::move(net)) {}
  AgeResult estimate(const cv::Mat& bgr, const Face& face);

  // The range is years -/+ kRangeFraction * years (at least kMinHalfWidth years each side). Measured on the
  // UTKFace images of ../shared/facedata aged 20-59 (n=160): MAE 8.7 years (median 7.8), and the true age fell
  // inside this range for 66% of them (benchmarks/RESULTS.md, "Attributes"). The model regresses towards ~40:
  // children and people over 60 are estimated badly (MAE 20.5 years over all ages 0-90).
  static constexpr float kRangeFraction = 0.25f;
  static constexpr float kMinHalfWidth = 4.f;
  // That measured coverage, reported as age.probability (CompreFace's field).
  static constexpr float kRangeCoverage = 0.65f;

 private:
  SsrNet net_;
};

}  // namespace faceserver
