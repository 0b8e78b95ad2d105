// Helpers shared by the attribute nets. (Nets are loaded by model_loader.h, on the engine's backend.)
#pragma once

#include <vector>

namespace faceserver {

// Softmax over `n` floats.
std::vector<float> softmax(const float* logits, int n);

}  // namespace faceserver
