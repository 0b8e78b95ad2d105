// Speed of the matcher at sizes whose face-like gallery and float ground truth do not fit this machine's
// time or RAM (10M x 512 floats = 20 GB): random templates, so it measures time, memory and bandwidth only,
// never recall (benchmarks/RESULTS.md, "Matcher"). One thread.
//   g++ -O2 -std=gnu++17 -Inative/core -o scale_probe benchmarks/lib/matcher_scale_probe.cpp \
//       <build dir>/libfaceserver_core.a -lpthread $(pkg-config --libs opencv4)
//   scale_probe N QUERIES
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "matcher/bandwidth.h"
#include "matcher/template_index.h"
using namespace faceserver::matcher;
static uint64_t s = 88172645463325252ull;
static float rnd() {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return (float)(s >> 40) / (1 << 24) - 0.5f;
}
using Clock = std::chrono::steady_clock;
static double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}
int main(int argc, char** argv) {
  size_t n = atol(argv[1]);
  TemplateIndex index;
  std::vector<float> batch(50000 * kDims);
  std::vector<int64_t> ids(50000);
  double loadMs = 0;
  auto t0 = Clock::now();
  index.reserve(n);
  loadMs += msSince(t0);
  for (size_t st = 0; st < n; st += 50000) {
    for (auto& x : batch) x = rnd();
    std::iota(ids.begin(), ids.end(), (int64_t)st);
    auto t = Clock::now();
    index.addBatch(ids.data(), batch.data(), 50000);
    loadMs += msSince(t);
  }
  printf("{\"n\":%zu,\"loadMs\":%.0f,\"usPerTemplate\":%.3f,\"bytesPerTemplate\":%.1f}\n", n, loadMs, loadMs * 1000 / n,
         index.bytesPerTemplate());
  auto bw = measureReadBandwidth(size_t{1} << 30, 5);
  printf("{\"readBandwidthGBps\":%.2f}\n", bw.gbPerSecond);
  std::vector<float> q(kDims);
  auto run = [&](const char* name, SearchOptions o, size_t C, int reps) {
    o.candidates = C;
    std::vector<double> ms;
    for (int r = 0; r < reps; ++r) {
      for (auto& x : q) x = rnd();
      auto t = Clock::now();
      index.search(q.data(), o);
      ms.push_back(msSince(t));
    }
    std::sort(ms.begin(), ms.end());
    double gbps = n * 64.0 / (ms[ms.size() / 2] / 1000) / 1e9;
    printf("{\"mode\":\"%s\",\"candidates\":%zu,\"p50\":%.3f,\"mean\":%.3f,\"scanGBps\":%.2f,\"ofBandwidth\":%.3f}\n",
           name, C, ms[ms.size() / 2], std::accumulate(ms.begin(), ms.end(), 0.0) / ms.size(), gbps,
           gbps / bw.gbPerSecond);
  };
  int reps = atoi(argv[2]);
  SearchOptions o;
  o.k = 10;
  o.mode = SearchMode::Hamming;
  run("hamming", o, 10, reps);
  o.mode = SearchMode::TwoStage;
  o.prefilter = Prefilter::Hamming;
  for (size_t C : {1024, 2048, 4096, 8192}) run("twoStage-hamming", o, C, reps);
  o.prefilter = Prefilter::Weighted;
  for (size_t C : {10, 1024, 4096}) run("twoStage-weighted", o, C, reps);
}
