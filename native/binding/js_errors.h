// Native errors as JS errors: an Error with .code = errorCodeName(code) (INVALID_ARGUMENT, CORRUPT_IMAGE, BUSY,
// ...), which the TypeScript wrappers in src/engine map to their own error classes.
#pragma once

#include <napi.h>

#include <exception>
#include <new>
#include <string>

#include "errors.h"

namespace faceserver::binding {

Napi::Error jsError(Napi::Env env, ErrorCode code, const std::string& message);

// Runs `body` on the JS thread, turning every C++ exception into a thrown JS error with a code.
template <typename Body>
auto guarded(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const EngineError& e) {
    throw jsError(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw jsError(env, ErrorCode::Internal, "out of memory");
  } catch (const std::exception& e) {
    throw jsError(env, ErrorCode::Internal, e.what());
  } catch (...) {
    throw jsError(env, ErrorCode::Internal, "unknown native error");
  }
}

}  // namespace faceserver::binding
