// imageMimeType(bytes: Uint8Array): the MIME type of the image format named by the first bytes ("image/jpeg",
// "image/png", ...), or undefined when they name none the engine decodes. Magic bytes only, no decoding: the same
// sniffer the decoder uses (native/core/image/image_header.h).
#include "bindings.h"
#include "image/image_header.h"
#include "js_errors.h"

namespace faceserver::binding {

namespace {

Napi::Value imageMimeTypeJs(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (cb.Length() < 1 || !cb[0].IsTypedArray() || cb[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw EngineError(ErrorCode::InvalidArgument, "bytes must be a Uint8Array");
    const auto bytes = cb[0].As<Napi::Uint8Array>();
    const char* mime = imageMimeType(sniffImageFormat(bytes.Data(), bytes.ByteLength()));
    return mime ? Napi::String::New(env, mime) : env.Undefined();
  });
}

}  // namespace

void registerImage(Napi::Env env, Napi::Object exports) {
  exports.Set("imageMimeType", Napi::Function::New(env, imageMimeTypeJs, "imageMimeType"));
}

}  // namespace faceserver::binding
