// Features of a face for the mask classifier, computed on the 112x112 similarity-aligned face (the same
// 5-point alignment as the recognition template), so that the lower face is always in the same place.
// Shared by the server (MaskClassifier) and the training tool (tools/mask), so both see identical features.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "face.h"

namespace faceserver {

// The pipeline's 5-point similarity alignment (aligner.h) of the face to 112x112 BGR.
cv::Mat alignFace112(const cv::Mat& bgr, const Face& face);

// The feature vector of an aligned 112x112 BGR face; always kMaskFeatureCount values.
std::vector<float> maskFeatures(const cv::Mat& aligned112);

// 2 x 12 colour statistics + 4 skin-likeness shares + 2 texture ratios + 108 HOG values of the lower face.
constexpr int kMaskFeatureCount = 138;

}  // namespace faceserver
