#include "runtime_info.h"

#include <cpuid.h>

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/core/cuda.hpp>
#include <opencv2/dnn.hpp>

namespace faceserver {

const CpuFeatures& cpuFeatures() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
    __builtin_cpu_init();
    f.sse42 = __builtin_cpu_supports("sse4.2");
    f.popcnt = __builtin_cpu_supports("popcnt");
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;  // clang 14 has no __builtin_cpu_supports("f16c")
    f.f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
    f.avx512vpopcntdq = __builtin_cpu_supports("avx512vpopcntdq");
    return f;
  }();
  return features;
}

OpenCvInfo openCvInfo() {
  OpenCvInfo info;
  info.version = CV_VERSION;
  info.threads = cv::getNumThreads();
  const auto backends = cv::dnn::getAvailableBackends();
  info.cudaBackend =
      std::any_of(backends.begin(), backends.end(), [](const auto& b) { return b.first == cv::dnn::DNN_BACKEND_CUDA; });
  try {
    info.cudaDevices = cv::cuda::getCudaEnabledDeviceCount();
  } catch (const cv::Exception&) {
    info.cudaDevices = 0;  // OpenCV without the CUDA module throws here
  }
  return info;
}

}  // namespace faceserver
