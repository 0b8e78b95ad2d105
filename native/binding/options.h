// Readers of the JS option objects the bindings take. An option that is absent (undefined or null) takes its
// fallback; one of the wrong type or out of range throws EngineError(InvalidArgument) naming it, which each
// binding's guarded() turns into a JS error with code INVALID_ARGUMENT.
#pragma once

#include <napi.h>

#include <cstdint>
#include <limits>
#include <string>

namespace faceserver::binding {

// A number within [min, max] (NaN is never within).
double numberOption(const Napi::Object& o, const char* name, double fallback,
                    double min = -std::numeric_limits<double>::infinity(),
                    double max = std::numeric_limits<double>::infinity());

// An integer within [min, max].
int64_t integerOption(const Napi::Object& o, const char* name, int64_t fallback, int64_t min, int64_t max);

bool boolOption(const Napi::Object& o, const char* name, bool fallback);

std::string stringOption(const Napi::Object& o, const char* name, const std::string& fallback);

}  // namespace faceserver::binding
