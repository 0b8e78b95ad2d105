#include "pipeline.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "aligner.h"
#include "errors.h"
#include "face_crop.h"

namespace faceserver {

namespace {

class Stopwatch {
 public:
  double lapMs() {
    const auto now = std::chrono::steady_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - start_).count();
    start_ = now;
    return ms;
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

const char* const kDetectFile = "fr_detect.onnx";
const char* const kLandmarkFile = "fr_landmark.onnx";
const char* const kFeatureFile = "fr_feature.onnx";

}  // namespace

std::vector<ModelFile> pipelineModelFiles(const ModelPaths& models) {
  const char* const names[][2] = {
      {"detect", kDetectFile},          {"landmark", kLandmarkFile},  {"feature", kFeatureFile},
      {"age", "fr_age.onnx"},           {"gender", "fr_gender.onnx"}, {"expression", "fr_expression.onnx"},
      {"liveness", "fr_liveness.onnx"}, {"eye", "fr_eye.onnx"},       {"pose", "fr_pose.onnx"}};
  std::vector<ModelFile> files;
  for (const auto& n : names) {
    ModelFile f{n[0], models.file(n[1]), -1};
    struct stat st;
    if (stat(f.path.c_str(), &st) == 0) f.bytes = st.st_size;
    files.push_back(f);
  }
  return files;
}

Pipeline::Pipeline(const ModelPaths& models, Backend backend, const ImageLimits& limits,
                   const std::string& maskWeightsPath)
    : limits_(limits),
      detector_(loadOnnxNet(models.file(kDetectFile), backend)),
      landmarks_(loadOnnxNet(models.file(kLandmarkFile), backend)),
      extractor_(loadOnnxNet(models.file(kFeatureFile), backend)),
      attributes_(models, maskWeightsPath.empty() ? kDefaultMaskWeights : maskWeightsPath, backend) {
  // Every attribute model (the ONNX nets and our mask weights) loads now, so a bad file fails engine start.
  attributes_.preload(kAllAttributes);
}

AnalyzeResult Pipeline::analyze(const AnalyzeRequest& request) {
  if (request.attributes & ~kAllAttributes) throw EngineError(ErrorCode::InvalidArgument, "unknown attribute");
  AnalyzeResult result;
  Stopwatch clock;
  const DecodedImage image = decodeImage(request.image.data(), request.image.size(), limits_);
  result.width = image.bgr.cols;
  result.height = image.bgr.rows;
  result.timings.add("decode", clock.lapMs());

  std::vector<Face> faces;
  if (request.detectFaces) {
    faces = detector_.detect(image.bgr, request.detect);
    result.timings.add("detect", clock.lapMs());
  } else {
    Face whole;
    whole.box = cv::Rect2f(0.f, 0.f, static_cast<float>(image.bgr.cols), static_cast<float>(image.bgr.rows));
    whole.score = 1.f;
    faces.push_back(whole);
  }

  for (Face& face : faces) landmarks_.fit(image.bgr, face);
  result.timings.add("landmarks", clock.lapMs());

  for (Face& face : faces) {
    FaceAnalysis analysis;
    analysis.face = face;
    if (request.embed) analysis.embedding = extractor_.embed(alignFace(image.bgr, alignmentPoints(face)), kFlipAverage);
    result.faces.push_back(std::move(analysis));
  }
  if (request.embed) result.timings.add("template", clock.lapMs());

  if (request.cropSize > 0) {
    for (FaceAnalysis& analysis : result.faces)
      analysis.crop = faceCropJpeg(image.bgr, analysis.face.box, request.cropSize);
    result.timings.add("crop", clock.lapMs());
  }

  if (request.attributes != 0) {
    StageTimings perAttribute;
    for (FaceAnalysis& analysis : result.faces)
      analysis.attributes = attributes_.estimate(image.bgr, analysis.face, request.attributes, perAttribute);
    // One entry per attribute, summed over the faces.
    for (const auto& timing : perAttribute.ms) {
      auto it = std::find_if(result.timings.ms.begin(), result.timings.ms.end(),
                             [&](const auto& entry) { return entry.first == timing.first; });
      if (it == result.timings.ms.end())
        result.timings.add(timing.first, timing.second);
      else
        it->second += timing.second;
    }
  }
  return result;
}

int shareOpenCvThreads(int workers) {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int threads = std::max(1, cores / std::max(1, workers));
  cv::setNumThreads(threads);
  return threads;
}

}  // namespace faceserver
