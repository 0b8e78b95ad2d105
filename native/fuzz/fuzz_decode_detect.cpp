// libFuzzer target: untrusted bytes through the image decoder and, when they decode, the face detector.
// Only EngineError may come out; any other exception, crash, leak or sanitizer report is a bug.
// Run from the repository root (models/ is read from FS_MODELS, default "models").
//
// A detector forward costs milliseconds, a decode microseconds. What the detector code does beyond the net
// (pyramid windows, letterboxing, padding retry, box mapping) depends on the image's size, so the detector
// runs for every image size not seen before in this process, and for 1 input in 32 otherwise (scores and
// NMS). Replaying one crashing input always detects (a fresh process has seen no size).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <utility>

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

bool shouldDetect(const cv::Mat& image, const uint8_t* data, size_t size) {
  static std::set<std::pair<int, int>> seenSizes;
  if (seenSizes.size() < 100000 && seenSizes.insert({image.cols, image.rows}).second) return true;
  uint32_t hash = 2166136261u;  // FNV-1a
  for (size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 16777619u;
  return hash % 32 == 0;
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
    if (!shouldDetect(image.bgr, data, size)) return 0;
    faceserver::DetectOptions options;
    options.minScore = 0.3f;
    detector().detect(image.bgr, options);
  } catch (const faceserver::EngineError&) {
    // an expected, reported failure
  }
  return 0;
}
