#include "onnx_net.h"

#include <algorithm>
#include <cmath>

namespace faceserver {

std::vector<float> softmax(const float* logits, int n) {
  std::vector<float> p(logits, logits + n);
  const float top = *std::max_element(p.begin(), p.end());
  float sum = 0.f;
  for (float& v : p) sum += (v = std::exp(v - top));
  for (float& v : p) v /= sum;
  return p;
}

}  // namespace faceserver
