// L2-regularised logistic regression trained by full-batch gradient descent with Adam steps, on standardised
// features; small enough to read, and all the mask classifier needs.
#pragma once

#include <vector>

#include "attributes/mask_classifier.h"

namespace masktool {

struct Sample {
  std::vector<float> x;
  int label = 0;       // 1 = masked
  float weight = 1.f;  // real photos count more than synthetic ones
};

faceserver::MaskModel trainLogistic(const std::vector<Sample>& samples, double l2, int iterations);

}  // namespace masktool
