// Upright people with OpenCV's HOG detector (HOGDescriptor::getDefaultPeopleDetector(), no model file).
// Frames are scaled down to at most kMaxSide on their longer side first, which bounds the cost per call.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/objdetect.hpp>
#include <vector>

namespace faceserver {

struct Body {
  cv::Rect2f box;  // pixels of the input image
  float score;     // logistic of the SVM margin, in (0,1); 0.5 = on the decision boundary
};

class BodyDetector {
 public:
  BodyDetector();
  // Bodies ordered by score, best first; scores below minScore are dropped. Throws EngineError(InvalidArgument)
  // for an empty or non-BGR image. Images smaller than the 64x128 detection window have no bodies.
  std::vector<Body> detect(const cv::Mat& bgr, float minScore = 0.5f);

  static constexpr int kMaxSide = 1280;

 private:
  cv::HOGDescriptor hog_;
};

// One-off convenience: a detector per call (construction is cheap: the SVM is built in).
std::vector<Body> detectBodies(const cv::Mat& bgr, float minScore = 0.5f);

}  // namespace faceserver
