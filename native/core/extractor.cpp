#include "extractor.h"

#include <cmath>

#include "aligner.h"
#include "errors.h"

namespace faceserver {

cv::Mat Extractor::forward(const cv::Mat& aligned) {
  net_.setInput(cv::dnn::blobFromImage(aligned, 1.0 / 128.0, cv::Size(), cv::Scalar::all(127), false, false), "input");
  cv::Mat out = net_.forward();
  if (out.total() != kEmbeddingDims) throw EngineError(ErrorCode::Internal, "embedding has an unexpected size");
  return out.reshape(1, 1).clone();
}

std::vector<float> Extractor::embed(const cv::Mat& aligned, bool flipAverage) {
  if (aligned.rows != kAlignedSide || aligned.cols != kAlignedSide || aligned.type() != CV_8UC3)
    throw EngineError(ErrorCode::InvalidArgument, "embedding needs a 112x112 BGR crop");
  cv::Mat sum = forward(aligned);
  if (flipAverage) {
    cv::Mat mirrored;
    cv::flip(aligned, mirrored, 1);
    sum += forward(mirrored);
  }
  const double norm = cv::norm(sum);
  if (!(norm > 1e-12) || !std::isfinite(norm)) throw EngineError(ErrorCode::Internal, "embedding has no direction");
  std::vector<float> embedding(kEmbeddingDims);
  const float* v = sum.ptr<float>();
  for (int i = 0; i < kEmbeddingDims; ++i) embedding[i] = static_cast<float>(v[i] / norm);
  return embedding;
}

}  // namespace faceserver
