// info(): what the engine runs on, for /readyz and the logs.
#include "bindings.h"
#include "runtime_info.h"

namespace faceserver::binding {

namespace {

Napi::Value info(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  const OpenCvInfo cv = openCvInfo();
  Napi::Object opencv = Napi::Object::New(env);
  opencv.Set("version", cv.version);
  opencv.Set("threads", cv.threads);
  opencv.Set("cudaBackend", cv.cudaBackend);
  opencv.Set("cudaDevices", cv.cudaDevices);

  const CpuFeatures& f = cpuFeatures();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("sse42", f.sse42);
  cpu.Set("popcnt", f.popcnt);
  cpu.Set("avx2", f.avx2);
  cpu.Set("fma", f.fma);
  cpu.Set("f16c", f.f16c);
  cpu.Set("avx512f", f.avx512f);
  cpu.Set("avx512bw", f.avx512bw);
  cpu.Set("avx512vl", f.avx512vl);
  cpu.Set("avx512vnni", f.avx512vnni);
  cpu.Set("avx512vpopcntdq", f.avx512vpopcntdq);

  Napi::Object result = Napi::Object::New(env);
  result.Set("opencv", opencv);
  result.Set("cpu", cpu);
  return result;
}

}  // namespace

void registerInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, info, "info"));
}

}  // namespace faceserver::binding
