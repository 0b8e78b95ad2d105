#include "options.h"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "errors.h"

namespace faceserver::binding {

namespace {

[[noreturn]] void invalid(const char* name, const std::string& what) {
  throw EngineError(ErrorCode::InvalidArgument, std::string(name) + " must be " + what);
}

std::string between(double min, double max) {
  std::ostringstream s;
  s << std::setprecision(15) << "between " << min << " and " << max;
  return s.str();
}

// Reads the option into `value`; false when it is absent.
bool present(const Napi::Object& o, const char* name, Napi::Value& value) {
  value = o.Get(name);
  return !value.IsUndefined() && !value.IsNull();
}

}  // namespace

double numberOption(const Napi::Object& o, const char* name, double fallback, double min, double max) {
  Napi::Value v;
  if (!present(o, name, v)) return fallback;
  if (!v.IsNumber()) invalid(name, "a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max)) invalid(name, std::isinf(min) && std::isinf(max) ? "a number" : between(min, max));
  return d;
}

int64_t integerOption(const Napi::Object& o, const char* name, int64_t fallback, int64_t min, int64_t max) {
  Napi::Value v;
  if (!present(o, name, v)) return fallback;
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || std::floor(d) != d)
    invalid(name, "an integer " + between(static_cast<double>(min), static_cast<double>(max)));
  return static_cast<int64_t>(d);
}

bool boolOption(const Napi::Object& o, const char* name, bool fallback) {
  Napi::Value v;
  if (!present(o, name, v)) return fallback;
  if (!v.IsBoolean()) invalid(name, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string stringOption(const Napi::Object& o, const char* name, const std::string& fallback) {
  Napi::Value v;
  if (!present(o, name, v)) return fallback;
  if (!v.IsString()) invalid(name, "a string");
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace faceserver::binding
