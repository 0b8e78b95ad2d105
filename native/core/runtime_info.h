// What the process runs on: CPU features (the matcher and halfvec.h pick their SIMD code from these) and
// OpenCV's build.
#pragma once

#include <string>

namespace faceserver {

struct CpuFeatures {
  bool sse42 = false;
  bool popcnt = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;  // half <-> float conversions (halfvec.h)
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512vpopcntdq = false;
};

const CpuFeatures& cpuFeatures();

struct OpenCvInfo {
  std::string version;
  int threads = 0;
  bool cudaBackend = false;  // OpenCV DNN was built with CUDA support
  int cudaDevices = 0;       // devices visible at run time (0 without a GPU or without CUDA support)
};

OpenCvInfo openCvInfo();

}  // namespace faceserver
