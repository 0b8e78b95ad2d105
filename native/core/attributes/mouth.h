// Mouth opening from the 68 landmarks alone (no model): mean inner-lip gap over the mouth width.
#pragma once

#include "attributes/attributes.h"

namespace faceserver {

MouthResult measureMouth(const Face& face);

// Open when the gap is over this share of the mouth width (a closed mouth measures about 0-0.05 with
// fr_landmark; see benchmarks/RESULTS.md, "Attributes").
constexpr float kMouthOpenThreshold = 0.15f;

}  // namespace faceserver
