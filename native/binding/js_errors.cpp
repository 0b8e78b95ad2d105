#include "js_errors.h"

namespace faceserver::binding {

Napi::Error jsError(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, errorCodeName(code)));
  return error;
}

}  // namespace faceserver::binding
