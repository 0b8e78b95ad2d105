// Loading one ONNX model with a clear error, and running it on a prepared blob.
#pragma once

#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

namespace faceserver {

// Throws EngineError(ModelLoad) naming the file when it is missing or unreadable.
cv::dnn::Net loadOnnx(const std::string& path);

// Softmax over `n` floats.
std::vector<float> softmax(const float* logits, int n);

}  // namespace faceserver
