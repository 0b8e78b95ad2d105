#include "errors.h"

namespace faceserver {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "INVALID_ARGUMENT";
    case ErrorCode::UnsupportedFormat: return "UNSUPPORTED_FORMAT";
    case ErrorCode::CorruptImage: return "CORRUPT_IMAGE";
    case ErrorCode::ImageTooLarge: return "IMAGE_TOO_LARGE";
    case ErrorCode::ModelLoad: return "MODEL_LOAD";
    case ErrorCode::TemplateMismatch: return "TEMPLATE_MISMATCH";
    case ErrorCode::Busy: return "BUSY";
    case ErrorCode::Internal: return "INTERNAL";
  }
  return "INTERNAL";
}

}  // namespace faceserver
