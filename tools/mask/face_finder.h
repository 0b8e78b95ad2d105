// The biggest face of a photo with its 68 landmarks, through the pipeline's own detector and landmark model.
#pragma once

#include <opencv2/core.hpp>
#include <optional>
#include <string>

#include "detector.h"
#include "landmarks.h"

namespace masktool {

class FaceFinder {
 public:
  explicit FaceFinder(const std::string& modelsDir);
  std::optional<faceserver::Face> biggestFace(const cv::Mat& bgr);

 private:
  faceserver::Detector detector_;
  faceserver::LandmarkModel landmarks_;
};

}  // namespace masktool
