#include "attributes/mask_classifier.h"

#include <cmath>
#include <fstream>

#include "attributes/mask_features.h"
#include "errors.h"

namespace faceserver {

float MaskModel::probability(const std::vector<float>& x) const {
  double z = bias;
  for (size_t i = 0; i < weights.size() && i < x.size(); ++i) z += weights[i] * (x[i] - mean[i]) * scale[i];
  return static_cast<float>(1.0 / (1.0 + std::exp(-z)));
}

void MaskModel::save(const std::string& path) const {
  cv::FileStorage fs(path, cv::FileStorage::WRITE);
  if (!fs.isOpened()) throw EngineError(ErrorCode::ModelLoad, "cannot write " + path);
  fs << "format"
     << "faceserver-mask-logreg-1";
  fs << "features" << static_cast<int>(weights.size());
  fs << "mean" << mean << "scale" << scale << "weights" << weights;
  fs << "bias" << bias << "threshold" << threshold;
}

MaskModel MaskModel::load(const std::string& path) {
  if (!std::ifstream(path).good()) throw EngineError(ErrorCode::ModelLoad, "mask weights not found: " + path);
  MaskModel m;
  try {
    cv::FileStorage fs(path, cv::FileStorage::READ);
    std::string format;
    int features = 0;
    fs["format"] >> format;
    fs["features"] >> features;
    fs["mean"] >> m.mean;
    fs["scale"] >> m.scale;
    fs["weights"] >> m.weights;
    fs["bias"] >> m.bias;
    fs["threshold"] >> m.threshold;
    if (format != "faceserver-mask-logreg-1" || features != kMaskFeatureCount ||
        m.mean.size() != static_cast<size_t>(features) || m.scale.size() != m.mean.size() ||
        m.weights.size() != m.mean.size())
      throw EngineError(ErrorCode::ModelLoad, "mask weights do not match this build's features: " + path);
  } catch (const cv::Exception& e) {
    throw EngineError(ErrorCode::ModelLoad, "cannot read mask weights " + path + ": " + e.what());
  }
  return m;
}

MaskResult MaskClassifier::estimate(const cv::Mat& bgr, const Face& face) const {
  MaskResult r;
  r.probability = model_.probability(maskFeatures(alignFace112(bgr, face)));
  r.masked = r.probability >= model_.threshold;
  return r;
}

}  // namespace faceserver
