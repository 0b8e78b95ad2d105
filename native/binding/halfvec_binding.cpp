// halfvecToFloats(halves: Uint8Array, out: Float32Array): pgvector halfvec values as halfvec_send writes them
// (big-endian halves) widened into `out`, which holds exactly halves.byteLength / 2 floats (native/core/halfvec.h).
// Synchronous: the face index load converts a batch of 8,192 x 512 values in a few milliseconds.
#include <cstdint>

#include "bindings.h"
#include "halfvec.h"
#include "js_errors.h"

namespace faceserver::binding {

namespace {

Napi::Value halfvecToFloatsJs(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (cb.Length() < 2 || !cb[0].IsTypedArray() || cb[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw EngineError(ErrorCode::InvalidArgument, "halves must be a Uint8Array");
    if (!cb[1].IsTypedArray() || cb[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw EngineError(ErrorCode::InvalidArgument, "out must be a Float32Array");
    const auto halves = cb[0].As<Napi::Uint8Array>();
    auto out = cb[1].As<Napi::Float32Array>();
    const size_t count = halves.ByteLength() / 2;
    if (halves.ByteLength() % 2 != 0 || out.ElementLength() != count)
      throw EngineError(ErrorCode::InvalidArgument, "out must hold halves.byteLength / 2 floats");
    const auto src = reinterpret_cast<uintptr_t>(halves.Data());
    const auto dst = reinterpret_cast<uintptr_t>(out.Data());
    if (count > 0 && src < dst + count * sizeof(float) && dst < src + count * 2)
      throw EngineError(ErrorCode::InvalidArgument, "halves and out must not overlap");
    halfvecToFloats(halves.Data(), count, out.Data());
    return env.Undefined();
  });
}

}  // namespace

void registerHalfvec(Napi::Env env, Napi::Object exports) {
  exports.Set("halfvecToFloats", Napi::Function::New(env, halfvecToFloatsJs, "halfvecToFloats"));
}

}  // namespace faceserver::binding
