#include "attributes/attributes.h"

#include <chrono>
#include <cmath>

#include "attributes/age_estimator.h"
#include "attributes/emotion_estimator.h"
#include "attributes/eye_estimator.h"
#include "attributes/gender_estimator.h"
#include "attributes/liveness_estimator.h"
#include "attributes/mask_classifier.h"
#include "attributes/mouth.h"
#include "attributes/pose_estimator.h"
#include "attributes/quality.h"
#include "errors.h"

namespace faceserver {

unsigned parseAttribute(const std::string& name) {
  static const std::pair<const char*, Attribute> kNames[] = {
      {"age", kAge},     {"gender", kGender}, {"emotion", kEmotion}, {"liveness", kLiveness}, {"eyes", kEyes},
      {"mouth", kMouth}, {"pose", kPose},     {"quality", kQuality}, {"mask", kMask}};
  for (const auto& [n, bit] : kNames)
    if (name == n) return bit;
  return 0;
}

const char* emotionName(Emotion e) {
  switch (e) {
    case Emotion::Angry: return "angry";
    case Emotion::Disgusted: return "disgusted";
    case Emotion::Scared: return "scared";
    case Emotion::Happy: return "happy";
    case Emotion::Neutral: return "neutral";
    case Emotion::Sad: return "sad";
    case Emotion::Surprised: return "surprised";
  }
  return "neutral";
}

// The estimators, each created the first time a request needs it.
class AttributeNets {
 public:
  AttributeNets(const ModelPaths& models, std::string maskWeights, Backend backend)
      : models_(models), maskWeights_(std::move(maskWeights)), backend_(backend) {}

  AgeEstimator& age() {
    return get(age_, [&] { return new AgeEstimator(net("fr_age.onnx")); });
  }
  GenderEstimator& gender() {
    return get(gender_, [&] { return new GenderEstimator(net("fr_gender.onnx")); });
  }
  EmotionEstimator& emotion() {
    return get(emotion_, [&] { return new EmotionEstimator(net("fr_expression.onnx")); });
  }
  LivenessEstimator& liveness() {
    return get(liveness_, [&] { return new LivenessEstimator(net("fr_liveness.onnx")); });
  }
  EyeEstimator& eyes() {
    return get(eyes_, [&] { return new EyeEstimator(net("fr_eye.onnx")); });
  }
  PoseEstimator& pose() {
    return get(pose_, [&] { return new PoseEstimator(net("fr_pose.onnx")); });
  }
  MaskClassifier& mask() {
    return get(mask_, [&] { return new MaskClassifier(maskWeights_); });
  }

 private:
  cv::dnn::Net net(const char* file) const { return loadOnnxNet(models_.file(file), backend_); }

  template <typename T, typename Make>
  static T& get(std::unique_ptr<T>& slot, Make make) {
    if (!slot) slot.reset(make());
    return *slot;
  }

  ModelPaths models_;
  std::string maskWeights_;
  Backend backend_;
  std::unique_ptr<AgeEstimator> age_;
  std::unique_ptr<GenderEstimator> gender_;
  std::unique_ptr<EmotionEstimator> emotion_;
  std::unique_ptr<LivenessEstimator> liveness_;
  std::unique_ptr<EyeEstimator> eyes_;
  std::unique_ptr<PoseEstimator> pose_;
  std::unique_ptr<MaskClassifier> mask_;
};

namespace {

// Quality reads the eye, pose, emotion and mask estimates, so asking for it runs those too.
unsigned withDependencies(unsigned mask) {
  return (mask & kQuality) ? (mask | kEyes | kPose | kEmotion | kMask) : mask;
}

constexpr unsigned kNeedLandmarks = kEyes | kMouth | kQuality | kMask;

template <typename F>
auto timed(StageTimings& timings, const char* stage, F f) {
  const auto start = std::chrono::steady_clock::now();
  auto result = f();
  timings.add(stage, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  return result;
}

void checkFace(const cv::Mat& bgr, const Face& face, unsigned mask) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw EngineError(ErrorCode::InvalidArgument, "need an 8-bit BGR image");
  if (mask & ~kAllAttributes) throw EngineError(ErrorCode::InvalidArgument, "unknown attribute bit");
  const cv::Rect2f& b = face.box;
  if (!std::isfinite(b.x) || !std::isfinite(b.y) || !(b.width >= 2.f) || !(b.height >= 2.f) ||
      !std::isfinite(b.width) || !std::isfinite(b.height))
    throw EngineError(ErrorCode::InvalidArgument, "face box is empty or not finite");
  // Coordinates far outside the image are no face of it; refusing them keeps every crop and polygon bounded.
  const float reach = 4.f * static_cast<float>(bgr.cols + bgr.rows);
  auto near = [reach](float v) { return std::fabs(v) <= reach; };
  if (!near(b.x) || !near(b.y) || !near(b.width) || !near(b.height))
    throw EngineError(ErrorCode::InvalidArgument, "face box lies far outside the image");
  if ((mask & kNeedLandmarks) && !face.hasLandmarks)
    throw EngineError(ErrorCode::InvalidArgument, "eyes, mouth, quality and mask need the face's landmarks");
  if (face.hasLandmarks)
    for (const cv::Point2f& p : face.landmarks)
      if (!std::isfinite(p.x) || !std::isfinite(p.y) || !near(p.x) || !near(p.y))
        throw EngineError(ErrorCode::InvalidArgument, "face landmarks are not finite or far outside the image");
}

}  // namespace

AttributeEstimators::AttributeEstimators(const ModelPaths& models, const std::string& maskWeightsPath, Backend backend)
    : nets_(std::make_unique<AttributeNets>(models, maskWeightsPath, backend)) {}

AttributeEstimators::~AttributeEstimators() = default;

void AttributeEstimators::preload(unsigned mask) {
  mask = withDependencies(mask);
  if (mask & kAge) nets_->age();
  if (mask & kGender) nets_->gender();
  if (mask & kEmotion) nets_->emotion();
  if (mask & kLiveness) nets_->liveness();
  if (mask & kEyes) nets_->eyes();
  if (mask & kPose) nets_->pose();
  if (mask & kMask) nets_->mask();
}

AttributeResults AttributeEstimators::estimate(const cv::Mat& bgr, const Face& face, unsigned asked, StageTimings& t) {
  checkFace(bgr, face, asked);
  const unsigned run = withDependencies(asked);
  AttributeResults r;
  try {
    if (run & kAge) r.age = timed(t, "age", [&] { return nets_->age().estimate(bgr, face); });
    if (run & kGender) r.gender = timed(t, "gender", [&] { return nets_->gender().estimate(bgr, face); });
    if (run & kEmotion) r.emotion = timed(t, "emotion", [&] { return nets_->emotion().estimate(bgr, face); });
    if (run & kLiveness) r.liveness = timed(t, "liveness", [&] { return nets_->liveness().estimate(bgr, face); });
    if (run & kEyes) r.eyes = timed(t, "eyes", [&] { return nets_->eyes().estimate(bgr, face); });
    if (run & kMouth) r.mouth = timed(t, "mouth", [&] { return measureMouth(face); });
    if (run & kPose) r.pose = timed(t, "pose", [&] { return nets_->pose().estimate(bgr, face); });
    if (run & kMask) r.mask = timed(t, "mask", [&] { return nets_->mask().estimate(bgr, face); });
    if (run & kQuality)
      r.quality = timed(t, "quality", [&] {
        return assessQuality(bgr, face, QualityInputs{*r.eyes, *r.pose, *r.emotion, *r.mask});
      });
  } catch (const cv::Exception& e) {
    throw EngineError(ErrorCode::Internal, std::string("attribute estimation failed: ") + e.what());
  }
  // Report only what was asked for; the dependencies quality ran stay internal.
  if (!(asked & kEyes)) r.eyes.reset();
  if (!(asked & kPose)) r.pose.reset();
  if (!(asked & kEmotion)) r.emotion.reset();
  if (!(asked & kMask)) r.mask.reset();
  return r;
}

}  // namespace faceserver
