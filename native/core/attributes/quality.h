// The quality block of 3DiVi's qaa: image measures of the face region, most after OFIQ (ISO/IEC 29794-5),
// combined with the eye, pose, emotion and mask estimates. Each threshold below is what `ok` tests against.
#pragma once

#include <opencv2/core.hpp>

#include "attributes/attributes.h"

namespace faceserver {

struct QualityThresholds {
  float sharpness = 0.5f;        // score = v / (v + 500), v = Laplacian variance on a 128 px face
  float illumination = 0.5f;     // left/right face half luminance histogram intersection (OFIQ)
  float flareShare = 0.02f;      // share of face pixels at luminance >= 247 (OFIQ over-exposure)
  float eyeOpenness = 0.5f;      // 1 - closed probability (fr_eye)
  float maxRotation = 20.f;      // |yaw|, |pitch| and |roll| in degrees
  float notMasked = 0.5f;        // 1 - mask probability
  float neutralEmotion = 0.1f;   // neutral probability (fr_expression; it rarely says neutral: on 114 LFW photos
                                 // with emotion labels, 0.1 passes 14/25 neutral and 20/89 other faces, 0.5 only 5/25)
  float minEyesDistance = 60.f;  // pixels (ISO/IEC 19794-5 minimum for a token image)
  float marginOuter = 0.25f;     // margin required on every side, in face box sides
  float marginInner = 2.f;       // largest margin allowed on any side, in face box sides
  float noise = 0.5f;            // score = 1 - sigma / 8 (Immerkaer's noise estimate), so sigma <= 4
  float watermark = 0.5f;        // score = stroke-pixel share / 0.06, clipped to 1; watermark when above
  float backgroundUniformity = 0.5f;  // score = exp(-mean gradient / 25) beside and above the head
  float dynamicRange = 5.f;           // bits: entropy of the face luminance histogram (OFIQ)
  float total = 0.6f;                 // mean of the normalised scores
};

// The parts of the estimate quality needs from the models.
struct QualityInputs {
  EyesResult eyes;
  PoseResult pose;
  EmotionResult emotion;
  MaskResult mask;
};

QualityResult assessQuality(const cv::Mat& bgr, const Face& face, const QualityInputs& models,
                            const QualityThresholds& thresholds = QualityThresholds());

// Single measures, exposed for the unit tests. `gray` is 8-bit, `region` an 8-bit mask of the same size.
float laplacianVariance(const cv::Mat& gray, const cv::Mat& region);
float noiseSigma(const cv::Mat& gray, const cv::Mat& region);
float luminanceEntropyBits(const cv::Mat& gray, const cv::Mat& region);

}  // namespace faceserver
