// Errors the core reports. Each code maps to one JS error code (see native/binding) and from there to each
// API dialect's own error format, so keep the list short and the meanings distinct.
#pragma once

#include <stdexcept>
#include <string>

namespace faceserver {

enum class ErrorCode {
  InvalidArgument,    // a caller passed a value outside its documented range
  UnsupportedFormat,  // the bytes are not an image format we decode
  CorruptImage,       // a known format, but broken or truncated
  ImageTooLarge,      // bytes, width, height or pixel count over the configured limit
  ModelLoad,          // a model file is missing or unreadable
  TemplateMismatch,   // a template from another model, version or layout
  Busy,               // the work queue is full
  Internal,           // anything else (an OpenCV exception, say)
};

const char* errorCodeName(ErrorCode code);

class EngineError : public std::runtime_error {
 public:
  EngineError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace faceserver
