// Head pose (yaw, pitch, roll in degrees) from fr_pose.onnx (HopeNet, 66 bins of 3 degrees).
#pragma once

#include <opencv2/dnn.hpp>
#include <string>
#include <utility>

#include "attributes/attributes.h"

namespace faceserver {

class PoseEstimator {
 public:
  explicit PoseEstimator(cv::dnn::Net net) : net_(std::move(net)) {}
  PoseResult estimate(const cv::Mat& bgr, const Face& face);

  // Expected value over the bins: sum(p_i * i) * 3 - 99 degrees, p = softmax of the 66 logits.
  static float binsToDegrees(const float* logits);

 private:
  cv::dnn::Net net_;
};

}  // namespace faceserver
