// The vision pipeline on real photos (../shared/facedata) and real models: detection incl. a 40 px face in a
// 1920x1080 frame, landmark plausibility, alignment + embeddings (same vs different person on LFW pairs), the
// template codec, the worker pool and model loading errors.
#include "pipeline.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aligner.h"
#include "errors.h"
#include "face_crop.h"
#include "template_codec.h"
#include "testing.h"
#include "worker_pool.h"

using namespace faceserver;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

#define SKIP_WITHOUT_FACEDATA()                                                               \
  do {                                                                                        \
    if (!testing::haveFacedata()) {                                                           \
      std::cout << "skip: " << testing::facedataDir() << " not found (real photos needed)\n"; \
      return;                                                                                 \
    }                                                                                         \
  } while (0)

Bytes readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) FS_FAIL("cannot read " << path);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes facedataFile(const std::string& relative) {
  return readFile(testing::facedataDir() + "/" + relative);
}

Pipeline& pipeline() {
  static Pipeline p(ModelPaths{testing::modelsDir()}, Backend::Cpu, ImageLimits());
  return p;
}

AnalyzeResult analyze(const Bytes& image, bool embed = false, bool detectFaces = true) {
  AnalyzeRequest request;
  request.image = image;
  request.embed = embed;
  request.detectFaces = detectFaces;
  return pipeline().analyze(request);
}

std::vector<float> embedOne(const std::string& relative) {
  const AnalyzeResult r = analyze(facedataFile(relative), true);
  if (r.faces.empty()) FS_FAIL("no face in " << relative);
  return r.faces[0].embedding;
}

float cosine(const std::vector<float>& a, const std::vector<float>& b) {
  float dot = 0.f;
  for (size_t i = 0; i < a.size(); ++i) dot += a[i] * b[i];
  return dot;
}

float iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

std::vector<std::vector<std::string>> readTsv(const std::string& relative) {
  std::ifstream in(testing::facedataDir() + "/" + relative);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '\t')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

}  // namespace

TEST(detects_one_face_on_an_lfw_photo) {
  SKIP_WITHOUT_FACEDATA();
  const AnalyzeResult r = analyze(facedataFile("lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg"));
  CHECK(r.width == 250 && r.height == 250);
  CHECK(r.faces.size() == 1);
  const Face& f = r.faces[0].face;
  CHECK(f.score >= 0.6f);
  CHECK(f.box.width > 70 && f.box.width < 170);
  CHECK(std::fabs(f.box.x + f.box.width / 2 - 125) < 25 && std::fabs(f.box.y + f.box.height / 2 - 125) < 35);
  CHECK(r.timings.ms.size() >= 3 && r.timings.ms[0].first == "decode" && r.timings.ms[1].first == "detect");
}

TEST(landmarks_are_plausible) {
  SKIP_WITHOUT_FACEDATA();
  const AnalyzeResult r = analyze(facedataFile("lfw/Abel_Pacheco/Abel_Pacheco_0004.jpg"));
  CHECK(r.faces.size() == 1);
  const Face& f = r.faces[0].face;
  CHECK(f.hasLandmarks);
  const auto five = alignmentPoints(f);
  CHECK(five[0].x < five[2].x && five[2].x < five[1].x);  // eyes either side of the nose
  CHECK(five[0].y < five[2].y && five[1].y < five[2].y);  // eyes above the nose tip
  CHECK(five[2].y < five[3].y && five[2].y < five[4].y);  // nose above the mouth corners
  CHECK(five[3].x < five[4].x);
  const float eyeDistance = static_cast<float>(cv::norm(five[1] - five[0]));
  CHECK(eyeDistance > 0.25f * f.box.width && eyeDistance < 0.7f * f.box.width);
  cv::Rect2f grown(f.box.x - f.box.width * 0.2f, f.box.y - f.box.height * 0.2f, f.box.width * 1.4f,
                   f.box.height * 1.4f);
  for (const auto& p : f.landmarks) CHECK(grown.contains(p));
  const auto named = namedKeypoints(f);
  CHECK(named.size() == 21);
  std::set<std::string> names;
  for (const auto& k : named) names.insert(k.name);
  CHECK(names.size() == 21 && names.count("left_eye") && names.count("chin") && names.count("mouth"));
}

TEST(finds_a_40px_face_in_a_1920x1080_frame) {
  SKIP_WITHOUT_FACEDATA();
  // Cut a real face with some context, scale it so the face box is 40 px, paste it into a big noisy frame.
  const Bytes jpeg = facedataFile("lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg");
  const DecodedImage photo = decodeImage(jpeg.data(), jpeg.size(), ImageLimits());
  const AnalyzeResult r = analyze(jpeg);
  CHECK(r.faces.size() == 1);
  const cv::Rect2f face = r.faces[0].face.box;
  const double scale = 40.0 / face.height;
  cv::Mat small;
  cv::resize(photo.bgr, small, cv::Size(), scale, scale, cv::INTER_AREA);
  cv::Mat frame(1080, 1920, CV_8UC3);
  cv::randu(frame, cv::Scalar::all(60), cv::Scalar::all(160));
  cv::GaussianBlur(frame, frame, cv::Size(0, 0), 3);
  const cv::Point at(1311, 677);
  small.copyTo(frame(cv::Rect(at, small.size())));
  Bytes png;
  cv::imencode(".png", frame, png);
  const AnalyzeResult big = analyze(png);
  const cv::Rect2f expected(static_cast<float>(at.x + face.x * scale), static_cast<float>(at.y + face.y * scale), 40.f,
                            40.f);
  bool found = false;
  for (const auto& f : big.faces) found = found || iou(f.face.box, expected) > 0.4f;
  CHECK(found);
  CHECK(big.faces.size() <= 2);  // noise does not look like faces
}

TEST(detection_recall_on_annotated_group_photos) {
  SKIP_WITHOUT_FACEDATA();
  int truth = 0, hit = 0, detected = 0;
  for (const auto& row : readTsv("detection.tsv")) {
    if (row.size() < 3 || row[2].empty()) continue;
    const AnalyzeResult r = analyze(facedataFile(row[0]));
    detected += static_cast<int>(r.faces.size());
    std::stringstream boxes(row[2]);
    std::string box;
    while (std::getline(boxes, box, ';')) {
      float x, y, w, h;
      if (std::sscanf(box.c_str(), "%f,%f,%f,%f", &x, &y, &w, &h) != 4) continue;
      ++truth;
      for (const auto& f : r.faces)
        if (iou(f.face.box, cv::Rect2f(x, y, w, h)) >= 0.4f) {
          ++hit;
          break;
        }
    }
  }
  std::cout << "  group photos: " << hit << "/" << truth << " annotated faces found, " << detected << " detections\n";
  CHECK(truth >= 18);
  CHECK(hit >= truth * 0.85);
}

TEST(tight_face_crops_are_found_with_padding) {
  SKIP_WITHOUT_FACEDATA();
  int tried = 0, found = 0;
  for (const auto& entry : fs::directory_iterator(testing::facedataDir() + "/utkface")) {
    if (tried == 60) break;
    ++tried;
    if (!analyze(readFile(entry.path().string())).faces.empty()) ++found;
  }
  std::cout << "  utkface chips: " << found << "/" << tried << "\n";
  CHECK(tried == 60 && found >= 58);
}

TEST(whole_image_mode_treats_the_input_as_one_face) {
  SKIP_WITHOUT_FACEDATA();
  const AnalyzeResult r = analyze(facedataFile("lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg"), true, false);
  CHECK(r.faces.size() == 1);
  CHECK(r.faces[0].face.box.width == 250 && r.faces[0].face.score == 1.f);
  CHECK(r.faces[0].embedding.size() == 512);
  CHECK(r.timings.ms[1].first == "landmarks");  // no detect stage
}

TEST(max_faces_keeps_the_biggest) {
  SKIP_WITHOUT_FACEDATA();
  AnalyzeRequest request;
  request.image = facedataFile("groups/dlib_2007_007763.jpg");
  const AnalyzeResult all = pipeline().analyze(request);
  CHECK(all.faces.size() >= 5);
  for (size_t i = 1; i < all.faces.size(); ++i) CHECK(all.faces[i - 1].face.box.area() >= all.faces[i].face.box.area());
  request.detect.maxFaces = 2;
  const AnalyzeResult two = pipeline().analyze(request);
  CHECK(two.faces.size() == 2);
  CHECK(two.faces[0].face.box == all.faces[0].face.box);
}

TEST(embeddings_separate_same_from_different_people) {
  SKIP_WITHOUT_FACEDATA();
  std::vector<float> same, different;
  for (const auto& row : readTsv("pairs.tsv")) {
    if (row.size() < 4 || row[3] != "lfw_view2_fold01") continue;
    auto& bucket = row[2] == "1" ? same : different;
    if (bucket.size() >= 25) continue;
    bucket.push_back(cosine(embedOne(row[0]), embedOne(row[1])));
  }
  CHECK(same.size() == 25 && different.size() == 25);
  float sameMean = 0, differentMean = 0;
  int correct = 0;
  for (float c : same) sameMean += c / 25, correct += c > 0.25f;
  for (float c : different) differentMean += c / 25, correct += c <= 0.25f;
  std::cout << "  LFW cosine: same mean " << sameMean << ", different mean " << differentMean << ", " << correct
            << "/50 right at 0.25\n";
  CHECK(sameMean > 0.55f && differentMean < 0.15f);
  CHECK(correct >= 47);
}

TEST(embedding_is_unit_length_and_flip_stable) {
  SKIP_WITHOUT_FACEDATA();
  const std::vector<float> e = embedOne("lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg");
  double norm = 0;
  for (float v : e) norm += v * v;
  CHECK_NEAR(norm, 1.0, 1e-4);
  // A mirrored photo of the same person embeds almost identically with flip averaging.
  const Bytes jpeg = facedataFile("lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg");
  const DecodedImage photo = decodeImage(jpeg.data(), jpeg.size(), ImageLimits());
  cv::Mat mirrored;
  cv::flip(photo.bgr, mirrored, 1);
  Bytes png;
  cv::imencode(".png", mirrored, png);
  const AnalyzeResult r = analyze(png, true);
  CHECK(r.faces.size() == 1);
  CHECK(cosine(e, r.faces[0].embedding) > 0.9f);
}

TEST(bad_images_fail_with_their_codes) {
  CHECK_THROWS_CODE(analyze(Bytes()), ErrorCode::CorruptImage);
  CHECK_THROWS_CODE(analyze(Bytes(100, 0x42)), ErrorCode::UnsupportedFormat);
  cv::Mat pixel(1, 1, CV_8UC3, cv::Scalar::all(128));
  Bytes png;
  cv::imencode(".png", pixel, png);
  CHECK(analyze(png).faces.empty());
  CHECK(analyze(png, true, false).faces.size() == 1);  // a 1x1 "face crop" still runs end to end
}

TEST(template_round_trip_and_mismatch) {
  std::vector<float> e(512);
  for (int i = 0; i < 512; ++i) e[i] = std::sin(i * 0.7f);
  double norm = 0;
  for (float v : e) norm += v * v;
  for (float& v : e) v = static_cast<float>(v / std::sqrt(norm));
  const Bytes t = encodeTemplate(e);
  CHECK(t.size() == 16 + 2048);
  CHECK(decodeTemplate(t.data(), t.size()) == e);
  Bytes other = t;
  other[8] ^= 1;  // another model
  CHECK_THROWS_CODE(decodeTemplate(other.data(), other.size()), ErrorCode::TemplateMismatch);
  other = t;
  other[12] = 2;  // another pipeline version
  CHECK_THROWS_CODE(decodeTemplate(other.data(), other.size()), ErrorCode::TemplateMismatch);
  CHECK_THROWS_CODE(decodeTemplate(t.data(), t.size() - 1), ErrorCode::TemplateMismatch);
  CHECK_THROWS_CODE(decodeTemplate(t.data(), 3), ErrorCode::TemplateMismatch);
  CHECK_THROWS_CODE(encodeTemplate(std::vector<float>(511, 0.f)), ErrorCode::InvalidArgument);
  std::vector<float> nan = e;
  nan[3] = NAN;
  CHECK_THROWS_CODE(encodeTemplate(nan), ErrorCode::InvalidArgument);

  // int8: cosine kept within 0.005; sign code: bit per positive component.
  std::vector<float> f(512);
  for (int i = 0; i < 512; ++i) f[i] = std::cos(i * 1.3f + 0.2f);
  norm = 0;
  for (float v : f) norm += v * v;
  for (float& v : f) v = static_cast<float>(v / std::sqrt(norm));
  const auto a = int8Code(e), b = int8Code(f);
  double dot = 0, na = 0, nb = 0;
  for (int i = 0; i < 512; ++i) dot += a[i] * b[i], na += a[i] * a[i], nb += b[i] * b[i];
  CHECK_NEAR(dot / std::sqrt(na * nb), cosine(e, f), 0.005);
  const auto bits = signCode(e);
  CHECK(bits.size() == 64);
  for (int i = 0; i < 512; ++i) CHECK(((bits[i / 8] >> (i % 8)) & 1) == (e[i] > 0.f ? 1 : 0));
}

TEST(missing_or_corrupt_model_fails_naming_the_file) {
  const fs::path dir = fs::temp_directory_path() / ("fs_models_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(testing::modelsDir()))
    if (entry.path().extension() == ".onnx") fs::copy_file(entry.path(), dir / entry.path().filename());
  fs::remove(dir / "fr_landmark.onnx");
  try {
    Pipeline p(ModelPaths{dir.string()}, Backend::Cpu, ImageLimits());
    FS_FAIL("loaded without fr_landmark.onnx");
  } catch (const EngineError& e) {
    CHECK(e.code() == ErrorCode::ModelLoad);
    CHECK(std::string(e.what()).find("fr_landmark.onnx") != std::string::npos);
  }
  std::ofstream(dir / "fr_landmark.onnx") << "this is not an onnx graph";
  try {
    Pipeline p(ModelPaths{dir.string()}, Backend::Cpu, ImageLimits());
    FS_FAIL("loaded a corrupt fr_landmark.onnx");
  } catch (const EngineError& e) {
    CHECK(e.code() == ErrorCode::ModelLoad);
    CHECK(std::string(e.what()).find("fr_landmark.onnx") != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(backend_choice_falls_back_to_cpu) {
  CHECK(chooseBackend(Backend::Cpu, true, 1).used == Backend::Cpu);
  CHECK(chooseBackend(Backend::Cuda, true, 1).used == Backend::Cuda);
  const BackendChoice noBuild = chooseBackend(Backend::Cuda, false, 0);
  CHECK(noBuild.used == Backend::Cpu && !noBuild.fallbackReason.empty());
  const BackendChoice noDevice = chooseBackend(Backend::Cuda, true, 0);
  CHECK(noDevice.used == Backend::Cpu && noDevice.fallbackReason.find("device") != std::string::npos);
}

namespace {
struct Counter {
  int jobs = 0;
};
}  // namespace

TEST(worker_pool_runs_jobs_and_fails_fast_when_full) {
  std::promise<std::exception_ptr> ready;
  std::atomic<bool> release{false};
  std::atomic<int> done{0};
  WorkerPool<Counter> pool(
      1, 2, [] { return std::make_unique<Counter>(); }, [&](std::exception_ptr e) { ready.set_value(e); });
  CHECK(ready.get_future().get() == nullptr);
  auto blocking = [&](Counter& c) {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++c.jobs;
    ++done;
  };
  pool.submit(blocking);  // taken by the worker
  while (pool.queued() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  pool.submit(blocking);
  pool.submit(blocking);  // queue now full (2)
  CHECK_THROWS_CODE(pool.submit(blocking), ErrorCode::Busy);
  release = true;
  pool.stop();
  CHECK(done == 3);
  CHECK_THROWS_CODE(pool.submit(blocking), ErrorCode::InvalidArgument);
}

#if defined(__linux__)
TEST(worker_pool_names_its_threads) {
  std::promise<std::exception_ptr> ready;
  WorkerPool<Counter> pool(
      2, 32, [] { return std::make_unique<Counter>(); }, [&](std::exception_ptr e) { ready.set_value(e); }, "fs-test");
  CHECK(ready.get_future().get() == nullptr);
  std::mutex mutex;
  std::set<std::string> names;
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i)
    pool.submit([&](Counter&) {
      char name[16] = {};
      pthread_getname_np(pthread_self(), name, sizeof name);
      std::lock_guard<std::mutex> lock(mutex);
      names.insert(name);
      ++done;
    });
  pool.stop();
  CHECK(done == 20);
  for (const std::string& n : names) CHECK(n == "fs-test-0" || n == "fs-test-1");
  CHECK(!names.empty());
}
#endif

TEST(worker_pool_reports_a_failed_start) {
  std::promise<std::exception_ptr> ready;
  WorkerPool<Counter> pool(
      2, 4, []() -> std::unique_ptr<Counter> { throw EngineError(ErrorCode::ModelLoad, "model file not found: x"); },
      [&](std::exception_ptr e) { ready.set_value(e); });
  std::exception_ptr failure = ready.get_future().get();
  CHECK(failure != nullptr);
  CHECK_THROWS_CODE(std::rethrow_exception(failure), ErrorCode::ModelLoad);
}

TEST(face_crops_are_cut_from_the_decoded_image) {
  SKIP_WITHOUT_FACEDATA();
  AnalyzeRequest request;
  request.image = facedataFile("lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg");
  request.cropSize = 112;
  const AnalyzeResult r = pipeline().analyze(request);
  CHECK(r.faces.size() == 1);
  const Bytes& crop = r.faces[0].crop;
  const cv::Mat small = cv::imdecode(crop, cv::IMREAD_COLOR);
  CHECK(small.cols == 112 && small.rows == 112);
  CHECK(crop.size() > 1000 && crop.size() < 20'000);
  // The crop is the face: the detector finds it again, filling most of the crop.
  const AnalyzeResult again = analyze(crop);
  CHECK(again.faces.size() == 1);
  CHECK(again.faces[0].face.box.width > 40);
  // Without cropSize there is none.
  CHECK(analyze(request.image).faces[0].crop.empty());
}

TEST(face_crop_near_an_edge_is_square_and_a_box_outside_gives_none) {
  cv::Mat image(200, 300, CV_8UC3, cv::Scalar(40, 90, 160));
  const Bytes corner = faceCropJpeg(image, cv::Rect2f(-20.f, -10.f, 80.f, 80.f), 64);
  const cv::Mat small = cv::imdecode(corner, cv::IMREAD_COLOR);
  CHECK(small.cols == 64 && small.rows == 64);
  CHECK(faceCropJpeg(image, cv::Rect2f(900.f, 900.f, 50.f, 50.f), 64).empty());
  CHECK(faceCropJpeg(cv::Mat(), cv::Rect2f(0.f, 0.f, 10.f, 10.f), 64).empty());
  CHECK(faceCropJpeg(image, cv::Rect2f(10.f, 10.f, 50.f, 50.f), 0).empty());
}
