#include "model_loader.h"

#include <sys/stat.h>

#include "errors.h"

namespace faceserver {

BackendChoice chooseBackend(Backend requested, bool openCvHasCuda, int cudaDevices) {
  BackendChoice choice;
  if (requested != Backend::Cuda) return choice;
  if (!openCvHasCuda) {
    choice.fallbackReason = "OpenCV was built without the CUDA DNN backend";
  } else if (cudaDevices <= 0) {
    choice.fallbackReason = "no CUDA device is present";
  } else {
    choice.used = Backend::Cuda;
  }
  return choice;
}

const char* backendName(Backend backend) {
  return backend == Backend::Cuda ? "cuda" : "cpu";
}

cv::dnn::Net loadOnnxNet(const std::string& path, Backend backend) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw EngineError(ErrorCode::ModelLoad, "model file not found: " + path);
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(path);
  } catch (const cv::Exception& e) {
    throw EngineError(ErrorCode::ModelLoad, "model file is not a valid ONNX graph: " + path);
  }
  if (net.empty()) throw EngineError(ErrorCode::ModelLoad, "model file holds no network: " + path);
  if (backend == Backend::Cuda) {
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_CUDA);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CUDA);
  } else {
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  }
  return net;
}

}  // namespace faceserver
