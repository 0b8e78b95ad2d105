#include "attributes/pose_estimator.h"

#include <opencv2/imgproc.hpp>

#include "attributes/face_crops.h"
#include "attributes/onnx_net.h"
#include "errors.h"

namespace faceserver {

namespace {
constexpr int kInputSide = 224;
constexpr int kBins = 66;
const cv::Scalar kMean(0.406, 0.456, 0.485);  // ImageNet statistics in the blob's (BGR) channel order
const cv::Scalar kStd(0.225, 0.224, 0.229);
const std::vector<std::string> kOutputs = {"output", "617", "618"};  // yaw, pitch, roll
}  // namespace

float PoseEstimator::binsToDegrees(const float* logits) {
  const std::vector<float> p = softmax(logits, kBins);
  float expected = 0.f;
  for (int i = 0; i < kBins; ++i) expected += p[i] * static_cast<float>(i);
  return expected * 3.f - 99.f;
}

PoseResult PoseEstimator::estimate(const cv::Mat& bgr, const Face& face) {
  // MODELS.md: the tight square box without padding; a wider crop makes yaw meaningless.
  const cv::Mat crop = cropWithBorder(bgr, squareBox(face.box));
  if (crop.empty()) throw EngineError(ErrorCode::InvalidArgument, "empty face box");
  cv::Mat input;
  cv::resize(crop, input, cv::Size(kInputSide, kInputSide), 0, 0, cv::INTER_LINEAR);
  input.convertTo(input, CV_32FC3, 1.0 / 255.0);
  cv::subtract(input, kMean, input);
  cv::divide(input, kStd, input);
  net_.setInput(cv::dnn::blobFromImage(input), "input");
  std::vector<cv::Mat> outs;
  net_.forward(outs, kOutputs);
  if (outs.size() != 3) throw EngineError(ErrorCode::Internal, "pose net returned too few outputs");
  for (const cv::Mat& m : outs)
    if (m.total() != kBins || m.depth() != CV_32F)
      throw EngineError(ErrorCode::Internal, "pose net returned an unexpected output shape");
  PoseResult r;
  r.yaw = binsToDegrees(outs[0].ptr<float>());
  r.pitch = binsToDegrees(outs[1].ptr<float>());
  r.roll = binsToDegrees(outs[2].ptr<float>());
  return r;
}

}  // namespace faceserver
