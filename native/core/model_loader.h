// Loads one ONNX file into a cv::dnn::Net on the chosen backend, with errors that name the file.
#pragma once

#include <opencv2/dnn.hpp>
#include <string>

namespace faceserver {

enum class Backend { Cpu, Cuda };

// What a requested backend turns into on this machine: CUDA only when OpenCV's DNN module was built with the
// CUDA backend and a device is present; otherwise the CPU, with the reason.
struct BackendChoice {
  Backend used = Backend::Cpu;
  std::string fallbackReason;  // empty when the request was honoured
};
BackendChoice chooseBackend(Backend requested, bool openCvHasCuda, int cudaDevices);

const char* backendName(Backend backend);  // "cpu" / "cuda"

// Throws EngineError(ModelLoad) naming the file when it is missing, unreadable or not a valid ONNX graph.
cv::dnn::Net loadOnnxNet(const std::string& path, Backend backend);

}  // namespace faceserver
