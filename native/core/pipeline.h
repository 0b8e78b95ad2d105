// All the networks of one worker thread and the chain that runs them on one image:
// decode -> detect (or the whole image as one face) -> 68 landmarks -> align + embed -> attributes.
// A Pipeline is used by one thread at a time (a cv::dnn::Net must never run two forwards at once).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attributes/attributes.h"
#include "detector.h"
#include "extractor.h"
#include "face.h"
#include "image/image_decoder.h"
#include "landmarks.h"
#include "model_loader.h"

namespace faceserver {

struct AnalyzeRequest {
  std::vector<uint8_t> image;  // encoded bytes
  bool detectFaces = true;     // false: the whole image is one face crop (CompreFace's detect_faces=false)
  DetectOptions detect;
  bool embed = false;       // compute the 512-d embedding
  unsigned attributes = 0;  // Attribute bits (attributes/attributes.h)
  int cropSize = 0;         // > 0: a square JPEG crop of each face, this many pixels a side (face_crop.h)
};

struct FaceAnalysis {
  Face face;
  std::vector<float> embedding;  // empty unless requested
  AttributeResults attributes;
  std::vector<uint8_t> crop;  // JPEG; empty unless requested
};

struct AnalyzeResult {
  int width = 0;
  int height = 0;
  std::vector<FaceAnalysis> faces;
  StageTimings timings;
};

// One model file of the set an engine loads, for info().
struct ModelFile {
  std::string name;  // "detect", "landmark", ...
  std::string path;
  int64_t bytes = 0;
};
// The files every pipeline needs; sizes read from disk (-1 for a missing file).
std::vector<ModelFile> pipelineModelFiles(const ModelPaths& models);

// The mask classifier's weights the server ships (AttributeEstimators' default), relative to the working directory.
constexpr const char* kDefaultMaskWeights = "assets/mask/mask_classifier.yml";

// Embeddings are the average of the crop and its mirror image (measured better on LFW; see RESULTS.md).
constexpr bool kFlipAverage = true;

class Pipeline {
 public:
  // Loads every net now: throws EngineError(ModelLoad) naming a missing or corrupt file. An empty
  // maskWeightsPath means kDefaultMaskWeights.
  Pipeline(const ModelPaths& models, Backend backend, const ImageLimits& limits,
           const std::string& maskWeightsPath = "");

  // Throws EngineError for bad input (see image_decoder.h) or bad options.
  AnalyzeResult analyze(const AnalyzeRequest& request);

 private:
  ImageLimits limits_;
  Detector detector_;
  LandmarkModel landmarks_;
  Extractor extractor_;
  AttributeEstimators attributes_;
};

// cv::setNumThreads is process-wide: give each worker an equal share of the cores (at least one).
// Returns the thread count set.
int shareOpenCvThreads(int workers);

}  // namespace faceserver
