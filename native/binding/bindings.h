// One register function per binding file; addon.cpp calls them all.
#pragma once

#include <napi.h>

namespace faceserver::binding {

void registerInfo(Napi::Env env, Napi::Object exports);
void registerMatcher(Napi::Env env, Napi::Object exports);
void registerEngine(Napi::Env env, Napi::Object exports);
void registerBodies(Napi::Env env, Napi::Object exports);
void registerHalfvec(Napi::Env env, Napi::Object exports);
void registerImage(Napi::Env env, Napi::Object exports);

}  // namespace faceserver::binding
