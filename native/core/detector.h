// Face detection with RFB-320 (fr_detect.onnx). The net sees a fixed 320x240 window, so a frame is covered
// by a small scale pyramid: the whole frame letterboxed into one window, then finer levels cut into
// overlapping windows until the smallest wanted face is about 20 px in the net's input. Tight face crops
// (the face fills the image) are retried with a border, as the net needs some context around a face.
#pragma once

#include <opencv2/dnn.hpp>
#include <vector>

#include "face.h"

namespace faceserver {

struct DetectOptions {
  float minScore = 0.6f;  // detector confidence threshold
  int maxFaces = 0;       // 0 = all; otherwise the biggest N
  int minFaceSize = 40;   // pixels in the input image; sets how fine the pyramid goes (at most native scale)
};

class Detector {
 public:
  explicit Detector(cv::dnn::Net net) : net_(std::move(net)) {}

  // Faces ordered biggest first; boxes squared (side = height, centred) and clipped to the image.
  std::vector<Face> detect(const cv::Mat& bgr, const DetectOptions& options);

  // How many net forwards the last detect() ran (for tests and benchmarks).
  int lastForwardCount() const { return forwards_; }

 private:
  struct Candidate {
    cv::Rect2f box;
    float score;
  };
  // Runs the net on `region` of `image` scaled by `scale` (region * scale fits 320x240) and appends the
  // candidates in image coordinates. Boxes touching a window edge that is not an image edge are dropped:
  // the neighbouring window (or the coarser level) sees that face whole.
  void detectWindow(const cv::Mat& image, const cv::Rect& region, double scale, float minScore,
                    std::vector<Candidate>& out);
  std::vector<Candidate> detectPyramid(const cv::Mat& image, const DetectOptions& options);

  cv::dnn::Net net_;
  int forwards_ = 0;
};

}  // namespace faceserver
