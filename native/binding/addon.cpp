// Module entry: each binding file registers its own exports here.
#include <napi.h>

#include "bindings.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  faceserver::binding::registerInfo(env, exports);
  faceserver::binding::registerMatcher(env, exports);
  faceserver::binding::registerEngine(env, exports);
  faceserver::binding::registerBodies(env, exports);
  faceserver::binding::registerHalfvec(env, exports);
  faceserver::binding::registerImage(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(faceserver, Init)
