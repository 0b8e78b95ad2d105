#include "face_finder.h"

#include "model_loader.h"

namespace masktool {

using faceserver::Backend;
using faceserver::loadOnnxNet;

FaceFinder::FaceFinder(const std::string& modelsDir)
    : detector_(loadOnnxNet(modelsDir + "/fr_detect.onnx", Backend::Cpu)),
      landmarks_(loadOnnxNet(modelsDir + "/fr_landmark.onnx", Backend::Cpu)) {}

std::optional<faceserver::Face> FaceFinder::biggestFace(const cv::Mat& bgr) {
  faceserver::DetectOptions options;
  options.maxFaces = 1;
  std::vector<faceserver::Face> faces = detector_.detect(bgr, options);
  if (faces.empty()) return std::nullopt;
  landmarks_.fit(bgr, faces[0]);
  return faces[0];
}

}  // namespace masktool
