// Where OpenCV 4.6 DNN spends its time on our models: forward latency per model at 1 and 2 threads, the cost of
// building the input blob, and the share of each layer type (from Net::getPerfProfile). The onnxruntime side
// of the same comparison is ort_profile.ts. One JSON line per measurement.
//
// Build and run (see benchmarks/RESULTS.md, "Pipeline speed"):
//   g++ -O2 -std=c++17 benchmarks/peer/opencv_profile.cpp -I/usr/include/opencv4 -lopencv_dnn -lopencv_imgproc
//       -lopencv_core -o build-bench/opencv_profile && build-bench/opencv_profile models 40
// Wall times suffer from other load on a shared machine; cpuMs (process CPU time, all threads, per forward)
// suffers much less and is the figure to compare with ort_profile.ts's.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

namespace {

struct ModelInput {
  const char* name;
  int channels, height, width;
};

const ModelInput kModels[] = {
    {"fr_detect", 3, 240, 320},     {"fr_landmark", 1, 64, 64}, {"fr_feature", 3, 112, 112},
    {"fr_liveness", 3, 128, 128},   {"fr_gender", 3, 64, 64},   {"fr_age", 3, 64, 64},
    {"fr_expression", 3, 224, 224}, {"fr_eye", 1, 24, 24},      {"fr_pose", 3, 224, 224},
};

double cpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double nowMs() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

struct Stats {
  double median = 0, min = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front()};
}

// A real-looking 8-bit input of the model's size (content does not change the cost of these nets).
cv::Mat sampleImage(const ModelInput& m) {
  cv::Mat img(m.height, m.width, m.channels == 3 ? CV_8UC3 : CV_8UC1);
  cv::randu(img, 0, 255);
  cv::GaussianBlur(img, img, cv::Size(5, 5), 2);
  return img;
}

// Median/min forward time and the layer-type shares of the last `runs` forwards.
void profileForward(const std::string& dir, const ModelInput& m, int threads, int runs, bool fusion) {
  cv::setNumThreads(threads);
  cv::dnn::Net net = cv::dnn::readNetFromONNX(dir + "/" + m.name + ".onnx");
  net.enableFusion(fusion);
  cv::Mat blob = cv::dnn::blobFromImage(sampleImage(m), 1.0 / 128, cv::Size(), cv::Scalar::all(127), false, false);
  for (int i = 0; i < 3; i++) {
    net.setInput(blob);
    net.forward();
  }
  std::vector<double> ms, cpu;
  std::map<std::string, double> byType;
  double totalLayers = 0;
  const std::vector<std::string> names = net.getLayerNames();
  for (int i = 0; i < runs; i++) {
    const double t = nowMs(), c = cpuMs();
    net.setInput(blob);
    net.forward();
    ms.push_back(nowMs() - t);
    cpu.push_back(cpuMs() - c);
    std::vector<double> layerTicks;
    net.getPerfProfile(layerTicks);
    for (size_t l = 0; l < layerTicks.size() && l < names.size(); l++) {
      const double layerMs = layerTicks[l] * 1000.0 / cv::getTickFrequency();
      byType[net.getLayer(names[l])->type] += layerMs;
      totalLayers += layerMs;
    }
  }
  const Stats s = stats(ms);
  std::printf(
      "{\"engine\":\"opencv\",\"model\":\"%s\",\"threads\":%d,\"fusion\":%s,\"medianMs\":%.3f,\"minMs\":%.3f,"
      "\"cpuMs\":%.3f",
      m.name, threads, fusion ? "true" : "false", s.median, s.min, stats(cpu).median);
  std::vector<std::pair<double, std::string>> shares;
  for (const auto& [type, total] : byType) shares.emplace_back(total, type);
  std::sort(shares.rbegin(), shares.rend());
  std::printf(",\"layerShare\":{");
  for (size_t i = 0; i < shares.size() && i < 5; i++) {
    std::printf("%s\"%s\":%.2f", i ? "," : "", shares[i].second.c_str(),
                totalLayers > 0 ? shares[i].first / totalLayers : 0);
  }
  std::printf("}}\n");
  std::fflush(stdout);
}

// blobFromImage (scale, mean, swapRB, NHWC->NCHW) against a plain convertTo + split into a preallocated blob.
void profileBlob(const ModelInput& m, int runs) {
  const cv::Mat img = sampleImage(m);
  std::vector<double> viaBlob, viaSplit;
  const int size[] = {1, m.channels, m.height, m.width};
  cv::Mat blob(4, size, CV_32F);
  for (int i = 0; i < runs; i++) {
    double t = nowMs();
    cv::Mat b = cv::dnn::blobFromImage(img, 1.0 / 128, cv::Size(), cv::Scalar::all(127), m.channels == 3, false);
    viaBlob.push_back(nowMs() - t);
    t = nowMs();
    std::vector<cv::Mat> planes;
    for (int c = 0; c < m.channels; c++) planes.emplace_back(m.height, m.width, CV_32F, blob.ptr<float>(0, c));
    cv::Mat f;
    img.convertTo(f, CV_32F, 1.0 / 128, -127.0 / 128);
    cv::split(f, planes);
    viaSplit.push_back(nowMs() - t);
  }
  const Stats a = stats(viaBlob), b = stats(viaSplit);
  std::printf("{\"engine\":\"opencv\",\"model\":\"%s\",\"blobFromImageMedianMs\":%.4f,\"convertSplitMedianMs\":%.4f}\n",
              m.name, a.median, b.median);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "models";
  const int runs = argc > 2 ? std::max(5, std::atoi(argv[2])) : 40;
  std::vector<std::string> backends;
  for (const auto& [backend, target] : cv::dnn::getAvailableBackends()) {
    backends.push_back(std::to_string(backend) + "/" + std::to_string(target));
  }
  std::printf("{\"opencv\":\"%s\",\"defaultThreads\":%d,\"backendTargetPairs\":\"", CV_VERSION, cv::getNumThreads());
  for (size_t i = 0; i < backends.size(); i++) std::printf("%s%s", i ? " " : "", backends[i].c_str());
  std::printf("\"}\n");
  try {
    for (const ModelInput& m : kModels) {
      profileForward(dir, m, 1, runs, true);
      profileForward(dir, m, 2, runs, true);
    }
    // Layer fusion off (the default is on) on the three pipeline nets: shows what fusion buys.
    for (int i = 0; i < 3; i++) profileForward(dir, kModels[i], 1, runs, false);
    for (int i = 0; i < 3; i++) profileBlob(kModels[i], runs * 5);
  } catch (const cv::Exception& e) {
    std::fprintf(stderr, "opencv_profile: %s\n", e.what());
    return 1;
  }
  return 0;
}
