// 68-point landmarks (fr_landmark.onnx, iBUG-68 order) and the points derived from them: the 5 alignment
// points of the recogniser and the 21 named keypoints of 3DiVi's face fitter.
#pragma once

#include <array>
#include <opencv2/dnn.hpp>
#include <vector>

#include "face.h"

namespace faceserver {

class LandmarkModel {
 public:
  explicit LandmarkModel(cv::dnn::Net net) : net_(std::move(net)) {}

  // Fills face.landmarks from a square crop around face.box (parts outside the image are replicated edge).
  void fit(const cv::Mat& bgr, Face& face);

 private:
  cv::dnn::Net net_;
};

// Eye centres (eyelid points 37,38,40,41 / 43,44,46,47), nose tip (30), mouth corners (mean of 48,60 /
// 54,64): the order of the recogniser's reference points (MODELS.md). Requires face.hasLandmarks.
std::array<cv::Point2f, 5> alignmentPoints(const Face& face);

struct NamedKeypoint {
  const char* name;  // 3DiVi's names; "left" = smaller x in the image
  cv::Point2f point;
};
// left/right_eye_brow_left/up/right, left/right_eye_left/right, left_eye, right_eye (centres),
// left/right_ear_bottom, nose_left, nose, nose_right, mouth_left, mouth, mouth_right, chin: 21 points.
std::vector<NamedKeypoint> namedKeypoints(const Face& face);

}  // namespace faceserver
