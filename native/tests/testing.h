// A tiny test harness for the C++ unit tests (no third-party framework to install).
// TEST(name) { CHECK(cond); CHECK_NEAR(a, b, eps); CHECK_THROWS_CODE(expr, ErrorCode::X); }
#pragma once

#include <cmath>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace testing {

struct Failure {
  std::string message;
};

struct Case {
  const char* name;
  std::function<void()> body;
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

struct Registrar {
  Registrar(const char* name, std::function<void()> body) { registry().push_back({name, std::move(body)}); }
};

// Where the test data lives: FS_FACEDATA (default ../shared/facedata) and FS_MODELS (default models).
std::string facedataDir();
std::string modelsDir();
bool haveFacedata();

}  // namespace testing

#define FS_CONCAT2(a, b) a##b
#define FS_CONCAT(a, b) FS_CONCAT2(a, b)
#define TEST(name)                                                       \
  static void name();                                                    \
  static ::testing::Registrar FS_CONCAT(registrar_, name)(#name, &name); \
  static void name()

#define FS_FAIL(msg)                                     \
  do {                                                   \
    std::ostringstream fs_os;                            \
    fs_os << __FILE__ << ":" << __LINE__ << ": " << msg; \
    throw ::testing::Failure{fs_os.str()};               \
  } while (0)

#define CHECK(cond)                                  \
  do {                                               \
    if (!(cond)) FS_FAIL("CHECK(" #cond ") failed"); \
  } while (0)

#define CHECK_NEAR(a, b, eps)                                                                   \
  do {                                                                                          \
    const double fs_a = (a), fs_b = (b);                                                        \
    if (!(std::fabs(fs_a - fs_b) <= (eps))) FS_FAIL(#a " = " << fs_a << ", " #b " = " << fs_b); \
  } while (0)

#define CHECK_THROWS_CODE(expr, errcode)                                                            \
  do {                                                                                              \
    bool fs_thrown = false;                                                                         \
    try {                                                                                           \
      (void)(expr);                                                                                 \
    } catch (const ::faceserver::EngineError& e) {                                                  \
      fs_thrown = true;                                                                             \
      if (e.code() != (errcode)) FS_FAIL(#expr " threw " << ::faceserver::errorCodeName(e.code())); \
    }                                                                                               \
    if (!fs_thrown) FS_FAIL(#expr " did not throw");                                                \
  } while (0)
