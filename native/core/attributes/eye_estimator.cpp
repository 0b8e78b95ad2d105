#include "attributes/eye_estimator.h"

#include <opencv2/imgproc.hpp>

#include "attributes/face_crops.h"
#include "attributes/onnx_net.h"
#include "errors.h"

namespace faceserver {

namespace {
constexpr int kInputSide = 24;
constexpr float kCropScale = 1.6f;
}  // namespace

// firstPoint = 36 (image-left eye) or 42: the six eye points are firstPoint..firstPoint+5, corners at +0 and +3,
// eyelids at +1, +2, +4, +5.
float EyeEstimator::closedProbability(const cv::Mat& gray, const Face& face, int firstPoint) {
  const auto& p = face.landmarks;
  const int f = firstPoint;
  const cv::Point2f centre = meanPoint(p, {f + 1, f + 2, f + 4, f + 5});
  const float side = std::max(2.f, kCropScale * static_cast<float>(cv::norm(p[f + 3] - p[f])));
  const cv::Mat crop = cropWithBorder(gray, {centre.x - side / 2.f, centre.y - side / 2.f, side, side});
  if (crop.empty()) return 0.f;
  cv::Mat input;
  cv::resize(crop, input, cv::Size(kInputSide, kInputSide), 0, 0, cv::INTER_AREA);
  net_.setInput(cv::dnn::blobFromImage(input, 1.0 / 255.0), "input");
  const cv::Mat out = net_.forward();
  if (out.total() != 2 || out.depth() != CV_32F)
    throw EngineError(ErrorCode::Internal, "eye net returned an unexpected output shape");
  return softmax(out.ptr<float>(), 2)[0];
}

EyesResult EyeEstimator::estimate(const cv::Mat& bgr, const Face& face) {
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  EyesResult r;
  r.leftClosed = closedProbability(gray, face, 36);
  r.rightClosed = closedProbability(gray, face, 42);
  r.leftOpen = r.leftClosed < kClosedThreshold;
  r.rightOpen = r.rightClosed < kClosedThreshold;
  return r;
}

}  // namespace faceserver
