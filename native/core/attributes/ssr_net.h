// SSR-Net (fr_age.onnx, fr_gender.onnx): the shared crop, normalisation and stagewise merge (MODELS.md).
#pragma once

#include <opencv2/dnn.hpp>
#include <string>
#include <utility>

#include "face.h"

namespace faceserver {

class SsrNet {
 public:
  explicit SsrNet(cv::dnn::Net net) : net_(std::move(net)) {}

  // Runs the net on the face's 1.4x square crop and on its mirror image, merges the three stages of each,
  // scaled by `range` (101 for age in years, 1 for gender), and returns the mean of the two.
  float estimate(const cv::Mat& bgr, const Face& face, float range);

  // The merge alone, over the 21 outputs in MODELS.md order (3x stage probs, 3 delta_k, 3x index offsets).
  static float merge(const float* x, float range);

 private:
  float forward(const cv::Mat& input, float range);  // one normalised 64x64 input -> merged value
  cv::dnn::Net net_;
};

}  // namespace faceserver
