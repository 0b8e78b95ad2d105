// Types shared by every stage of the face pipeline: where a face is, its 68 landmarks, and stage timings.
#pragma once

#include <array>
#include <opencv2/core.hpp>
#include <string>
#include <utility>
#include <vector>

namespace faceserver {

// Model files by name (fr_detect.onnx, ...) inside one folder, plus our own mask weights.
struct ModelPaths {
  std::string dir;
  std::string file(const std::string& name) const { return dir + "/" + name; }
};

// One detected face in the (EXIF-oriented) image, in pixels.
struct Face {
  cv::Rect2f box;                         // as the detector returned it (clipped to the image)
  float score = 0.f;                      // detector confidence in [0,1] (1 when detection was skipped)
  std::array<cv::Point2f, 68> landmarks;  // iBUG-68 order, pixels
  bool hasLandmarks = false;
};

// Milliseconds per named stage ("decode", "detect", "landmarks", "template", "age", ...), in run order.
struct StageTimings {
  std::vector<std::pair<std::string, double>> ms;
  void add(const std::string& stage, double millis) { ms.emplace_back(stage, millis); }
};

}  // namespace faceserver
