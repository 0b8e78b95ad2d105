#include "attributes/emotion_estimator.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "attributes/face_crops.h"
#include "attributes/onnx_net.h"
#include "errors.h"

namespace faceserver {

namespace {

constexpr int kInputSide = 224;
constexpr float kCropScale = 1.2f;
// The net's class order (angry, disgust, fear, happy, sad, surprise, neutral) mapped onto ours.
constexpr Emotion kNetOrder[kEmotionCount] = {Emotion::Angry, Emotion::Disgusted, Emotion::Scared, Emotion::Happy,
                                              Emotion::Sad,   Emotion::Surprised, Emotion::Neutral};

}  // namespace

EmotionResult EmotionEstimator::estimate(const cv::Mat& bgr, const Face& face) {
  // MODELS.md: the crop starts at the box's top-left corner and spans 1.2x its width and height.
  const cv::Rect2f region(face.box.x, face.box.y, face.box.width * kCropScale, face.box.height * kCropScale);
  const cv::Mat crop = cropWithBorder(bgr, region);
  if (crop.empty()) throw EngineError(ErrorCode::InvalidArgument, "empty face box");
  cv::Mat input;
  cv::resize(crop, input, cv::Size(kInputSide, kInputSide), 0, 0, cv::INTER_LINEAR);
  net_.setInput(cv::dnn::blobFromImage(input, 1.0 / 255.0, cv::Size(), cv::Scalar(), /*swapRB=*/true), "input");
  const cv::Mat out = net_.forward();
  if (out.total() != kEmotionCount || out.depth() != CV_32F)
    throw EngineError(ErrorCode::Internal, "expression net returned an unexpected output shape");
  const std::vector<float> p = softmax(out.ptr<float>(), kEmotionCount);
  EmotionResult r;
  for (int i = 0; i < kEmotionCount; ++i) r.probabilities[static_cast<int>(kNetOrder[i])] = p[i];
  r.top =
      static_cast<Emotion>(std::max_element(r.probabilities.begin(), r.probabilities.end()) - r.probabilities.begin());
  return r;
}

}  // namespace faceserver
