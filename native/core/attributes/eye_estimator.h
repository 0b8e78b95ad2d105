// Eye closedness from fr_eye.onnx, one 24x24 grey crop per eye placed by the landmarks.
#pragma once

#include <opencv2/dnn.hpp>
#include <string>
#include <utility>

#include "attributes/attributes.h"

namespace faceserver {

class EyeEstimator {
 public:
  explicit EyeEstimator(cv::dnn::Net net) : net_(std::move(net)) {}
  EyesResult estimate(const cv::Mat& bgr, const Face& face);

  // An eye is open when its closed probability is below this.
  static constexpr float kClosedThreshold = 0.5f;

 private:
  float closedProbability(const cv::Mat& gray, const Face& face, int firstPoint);
  cv::dnn::Net net_;
};

}  // namespace faceserver
