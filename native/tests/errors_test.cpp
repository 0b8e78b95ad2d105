#include "errors.h"

#include "testing.h"

TEST(error_codes_have_stable_names) {
  CHECK(std::string(faceserver::errorCodeName(faceserver::ErrorCode::CorruptImage)) == "CORRUPT_IMAGE");
  CHECK_THROWS_CODE(throw faceserver::EngineError(faceserver::ErrorCode::Busy, "full"), faceserver::ErrorCode::Busy);
}
