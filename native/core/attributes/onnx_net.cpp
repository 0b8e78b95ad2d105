#include "onnx_net.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "errors.h"

namespace faceserver {

cv::dnn::Net loadOnnx(const std::string& path) {
  if (!std::ifstream(path, std::ios::binary).good())
    throw EngineError(ErrorCode::ModelLoad, "model file not found or unreadable: " + path);
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
    if (net.empty()) throw EngineError(ErrorCode::ModelLoad, "model file holds no network: " + path);
    return net;
  } catch (const cv::Exception& e) {
    throw EngineError(ErrorCode::ModelLoad, "cannot load model " + path + ": " + e.what());
  }
}

std::vector<float> softmax(const float* logits, int n) {
  std::vector<float> p(logits, logits + n);
  const float top = *std::max_element(p.begin(), p.end());
  float sum = 0.f;
  for (float& v : p) sum += (v = std::exp(v - top));
  for (float& v : p) v /= sum;
  return p;
}

}  // namespace faceserver
