// libFuzzer target: untrusted bytes through the image decoder and, when they decode, the face detector.
// Only EngineError may come out; any other exception, crash, leak or sanitizer report is a bug.
// Run from the repository root (models/ is read from FS_MODELS, default "models").
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "detector.h"
#include "errors.h"
#include "image/image_decoder.h"
#include "model_loader.h"

namespace {

faceserver::Detector& detector() {
  static std::unique_ptr<faceserver::Detector> instance = [] {
    const char* dir = std::getenv("FS_MODELS");
    const std::string models = dir != nullptr ? dir : "models";
    return std::make_unique<faceserver::Detector>(
        faceserver::loadOnnxNet(models + "/fr_detect.onnx", faceserver::Backend::Cpu));
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits keep each run fast; the limit checks themselves are part of what is fuzzed.
  faceserver::ImageLimits limits;
  limits.maxBytes = 1 << 20;
  limits.maxWidth = 2048;
  limits.maxHeight = 2048;
  limits.maxPixels = 512 * 512;
  try {
    const faceserver::DecodedImage image = faceserver::decodeImage(data, size, limits);
    faceserver::DetectOptions options;
    options.minScore = 0.3f;
    detector().detect(image.bgr, options);
  } catch (const faceserver::EngineError&) {
    // an expected, reported failure
  }
  return 0;
}
