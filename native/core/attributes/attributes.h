// Face attributes (age, gender, emotion, liveness, eyes, mouth, pose, quality, mask) for one detected face.
// The pipeline calls AttributeEstimators::estimate with a bit mask of what the request asked for; only those
// models run (quality also runs what it needs: eyes, pose, emotion, mask). One instance per worker thread:
// a cv::dnn::Net must never run two forwards at once.
#pragma once

#include <array>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>

#include "face.h"
#include "model_loader.h"

namespace faceserver {

enum Attribute : unsigned {
  kAge = 1,
  kGender = 2,
  kEmotion = 4,
  kLiveness = 8,
  kEyes = 16,
  kMouth = 32,
  kPose = 64,
  kQuality = 128,
  kMask = 256,
};
constexpr unsigned kAllAttributes = 511;

// "age","gender","emotion","liveness","eyes","mouth","pose","quality","mask" -> its bit; 0 if unknown.
unsigned parseAttribute(const std::string& name);

struct AgeResult {
  float years = 0.f;  // SSR-Net estimate
  int low = 0;        // a range around it sized from the measured error (see age_estimator.h)
  int high = 0;
  float probability = 0.f;  // measured share of true ages inside [low, high] (CompreFace's age.probability)
};

struct GenderResult {
  bool male = false;
  float maleScore = 0.f;    // SSR-Net output in [0,1]; male when above GenderEstimator::kMaleThreshold (0.65)
  float probability = 0.f;  // confidence in the chosen label, in [0.5,1]
};

// 3DiVi's vocabulary and order.
enum class Emotion { Angry, Disgusted, Scared, Happy, Neutral, Sad, Surprised };
constexpr int kEmotionCount = 7;
const char* emotionName(Emotion e);  // "angry", "disgusted", ...

struct EmotionResult {
  std::array<float, kEmotionCount> probabilities{};  // indexed by Emotion, sums to 1
  Emotion top = Emotion::Neutral;
};

struct LivenessResult {
  float score = 0.f;  // probability that the face is live, in [0,1]
  bool real = false;  // score >= LivenessEstimator::kRealThreshold
};

// "left" and "right" are as seen in the image (left = smaller x = the person's right eye, iBUG 36-41),
// the convention of 3DiVi's fitter output (its left_eye has the smaller x).
struct EyesResult {
  float leftClosed = 0.f;  // probability the eye is closed, in [0,1]
  float rightClosed = 0.f;
  bool leftOpen = true;
  bool rightOpen = true;
};

struct MouthResult {
  float opening = 0.f;  // inner-lip gap / mouth width (landmarks), about 0 shut, 0.3+ wide open
  bool open = false;
};

struct PoseResult {
  float yaw = 0.f;    // degrees; > 0 = turned to image-right
  float pitch = 0.f;  // degrees; < 0 = looking down
  float roll = 0.f;   // degrees
};

struct MaskResult {
  float probability = 0.f;  // probability of a face mask, in [0,1]
  bool masked = false;
};

// One quality measure: a score and whether it passes its documented threshold (see quality.h).
struct QualityMeasure {
  float score = 0.f;
  bool ok = false;
};

// Every field of 3DiVi's qaa block. Each `ok` is the "good" direction (e.g. noFlare.ok = no flare,
// watermark.ok = no watermark, notMasked.ok = not masked).
struct QualityResult {
  QualityMeasure total;                 // totalScore in [0,1]
  QualityMeasure sharpness;             // isSharp / sharpnessScore
  QualityMeasure illumination;          // isEvenlyIlluminated / illuminationScore
  QualityMeasure flare;                 // noFlare (score = share of over-exposed face pixels)
  QualityMeasure leftEyeOpenness;       // isLeftEyeOpened / leftEyeOpennessScore
  QualityMeasure rightEyeOpenness;      // isRightEyeOpened / rightEyeOpennessScore
  QualityMeasure rotation;              // isRotationAcceptable / maxRotationDeviation (degrees, signed)
  QualityMeasure notMasked;             // notMasked / notMaskedScore
  QualityMeasure neutralEmotion;        // isNeutralEmotion / neutralEmotionScore
  QualityMeasure eyesDistance;          // isEyesDistanceAcceptable / eyesDistance (pixels)
  QualityMeasure margins;               // isMarginsAcceptable (score unused; see the two deviations)
  float marginInnerDeviation = 0.f;     // pixels
  float marginOuterDeviation = 0.f;     // pixels
  QualityMeasure noise;                 // isNotNoisy / noiseScore
  QualityMeasure watermark;             // hasWatermark is !ok / watermarkScore
  QualityMeasure backgroundUniformity;  // isBackgroundUniform / backgroundUniformityScore
  QualityMeasure dynamicRange;          // isDynamicRangeAcceptable / dynamicRangeScore
  float faceLuminance = 0.f;            // mean luminance of the face region, 0..255
  float interEyeDistance = 0.f;         // pixels between the eye centres
};

struct AttributeResults {
  std::optional<AgeResult> age;
  std::optional<GenderResult> gender;
  std::optional<EmotionResult> emotion;
  std::optional<LivenessResult> liveness;
  std::optional<EyesResult> eyes;
  std::optional<MouthResult> mouth;
  std::optional<PoseResult> pose;
  std::optional<QualityResult> quality;
  std::optional<MaskResult> mask;
};

class AttributeNets;  // the per-model estimators, created on first use

class AttributeEstimators {
 public:
  // models.dir holds the fr_*.onnx files; the mask weights are read from maskWeightsPath (the default
  // assets/mask/mask_classifier.yml, relative to the working directory, is what the server ships).
  // Nets load lazily on the first request that needs them; a missing file throws EngineError(ModelLoad)
  // naming the file at that point. Call preload() to load everything up front. The ONNX nets run on `backend`
  // (the engine's choice after chooseBackend()).
  explicit AttributeEstimators(const ModelPaths& models,
                               const std::string& maskWeightsPath = "assets/mask/mask_classifier.yml",
                               Backend backend = Backend::Cpu);
  ~AttributeEstimators();
  AttributeEstimators(const AttributeEstimators&) = delete;
  AttributeEstimators& operator=(const AttributeEstimators&) = delete;

  void preload(unsigned attributeMask = kAllAttributes);

  // bgr: the oriented 8-bit BGR image; face: box (+ 68 landmarks, required for eyes, mouth, quality, mask).
  // Adds one timing entry per attribute computed ("age", "gender", ...). Throws EngineError(InvalidArgument)
  // for an empty image, an unknown bit, or missing landmarks when they are needed.
  AttributeResults estimate(const cv::Mat& bgr, const Face& face, unsigned attributeMask, StageTimings& timings);

 private:
  std::unique_ptr<AttributeNets> nets_;
};

}  // namespace faceserver
