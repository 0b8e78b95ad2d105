// The 512-d face embedding (fr_feature.onnx) of an aligned 112x112 BGR crop, L2-normalised. With flip
// averaging the mirrored crop is embedded too and the two raw vectors summed before normalising.
#pragma once

#include <opencv2/dnn.hpp>
#include <vector>

namespace faceserver {

constexpr int kEmbeddingDims = 512;

class Extractor {
 public:
  explicit Extractor(cv::dnn::Net net) : net_(std::move(net)) {}

  // Throws EngineError(InvalidArgument) for a crop that is not 112x112 BGR.
  std::vector<float> embed(const cv::Mat& aligned, bool flipAverage);

 private:
  cv::Mat forward(const cv::Mat& aligned);
  cv::dnn::Net net_;
};

}  // namespace faceserver
