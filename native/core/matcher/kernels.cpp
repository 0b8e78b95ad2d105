#include "kernels.h"

#include "errors.h"
#include "runtime_info.h"

namespace faceserver::matcher {

bool cpuSupports(KernelPath path) {
  const CpuFeatures& f = cpuFeatures();
  switch (path) {
    case KernelPath::Auto:
    case KernelPath::Scalar: return true;
    case KernelPath::Avx2: return f.avx2 && f.fma;
    case KernelPath::Avx512: return f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx512vpopcntdq;
  }
  return false;
}

KernelPath bestKernelPath() {
  if (cpuSupports(KernelPath::Avx512)) return KernelPath::Avx512;
  if (cpuSupports(KernelPath::Avx2)) return KernelPath::Avx2;
  return KernelPath::Scalar;
}

const Kernels& kernelsFor(KernelPath path) {
  if (path == KernelPath::Auto) path = bestKernelPath();
  if (!cpuSupports(path)) {
    throw EngineError(ErrorCode::InvalidArgument,
                      std::string("this CPU cannot run the ") + kernelPathName(path) + " kernels");
  }
  switch (path) {
    case KernelPath::Avx512: return avx512Kernels();
    case KernelPath::Avx2: return avx2Kernels();
    default: return scalarKernels();
  }
}

const char* kernelPathName(KernelPath path) {
  switch (path) {
    case KernelPath::Auto: return "auto";
    case KernelPath::Scalar: return "scalar";
    case KernelPath::Avx2: return "avx2";
    case KernelPath::Avx512: return "avx512";
  }
  return "auto";
}

KernelPath kernelPathFromName(const std::string& name) {
  if (name == "auto") return KernelPath::Auto;
  if (name == "scalar") return KernelPath::Scalar;
  if (name == "avx2") return KernelPath::Avx2;
  if (name == "avx512") return KernelPath::Avx512;
  throw EngineError(ErrorCode::InvalidArgument, "kernel path must be auto, scalar, avx2 or avx512");
}

}  // namespace faceserver::matcher
