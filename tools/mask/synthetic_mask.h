// Draws a face mask onto a photo from the face's 68 landmarks: a surgical-, cloth- or respirator-like shape
// from cheek to cheek over the nose bridge and under the chin, in a random colour or pattern, shaded across
// the face and lit like the photo, sometimes with ear straps. Training data for the mask classifier.
#pragma once

#include <opencv2/core.hpp>

#include "face.h"

namespace masktool {

void drawSyntheticMask(cv::Mat& bgr, const faceserver::Face& face, cv::RNG& rng);

}  // namespace masktool
