// Face-mask classifier of our own (no pretrained mask model is reachable here): logistic regression over
// maskFeatures() of the aligned face. Weights: assets/mask/mask_classifier.yml, made by tools/mask; its
// README states the accuracy measured on real photos that were not trained on.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "attributes/attributes.h"

namespace faceserver {

struct MaskModel {
  std::vector<float> mean, scale;  // feature standardisation: (x - mean) * scale
  std::vector<float> weights;
  float bias = 0.f;
  float threshold = 0.5f;  // masked when the probability is at least this

  float probability(const std::vector<float>& features) const;
  // YAML via cv::FileStorage; load() throws EngineError(ModelLoad) naming the file on any problem.
  void save(const std::string& path) const;
  static MaskModel load(const std::string& path);
};

class MaskClassifier {
 public:
  explicit MaskClassifier(const std::string& weightsPath) : model_(MaskModel::load(weightsPath)) {}
  MaskResult estimate(const cv::Mat& bgr, const Face& face) const;

 private:
  MaskModel model_;
};

}  // namespace faceserver
