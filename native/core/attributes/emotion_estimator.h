// Facial expression from fr_expression.onnx (7 classes), reported in 3DiVi's vocabulary and order.
// The costliest model (~50-70 ms): run it only when asked.
#pragma once

#include <opencv2/dnn.hpp>
#include <string>
#include <utility>

#include "attributes/attributes.h"

namespace faceserver {

class EmotionEstimator {
 public:
  explicit EmotionEstimator(cv::dnn::Net net) : net_(std::move(net)) {}
  EmotionResult estimate(const cv::Mat& bgr, const Face& face);

 private:
  cv::dnn::Net net_;
};

}  // namespace faceserver
