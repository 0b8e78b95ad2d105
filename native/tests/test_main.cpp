// Runs every registered TEST; prints one line per test and the plain "N passed, N failed" summary.
// Usage: native_tests [substring-filter]
#include <sys/stat.h>

#include <cstdlib>
#include <exception>

#include "testing.h"

namespace testing {

std::string facedataDir() {
  const char* env = std::getenv("FS_FACEDATA");
  return env ? env : "../shared/facedata";
}

std::string modelsDir() {
  const char* env = std::getenv("FS_MODELS");
  return env ? env : "models";
}

bool haveFacedata() {
  struct stat st;
  return stat((facedataDir() + "/MANIFEST.md").c_str(), &st) == 0;
}

}  // namespace testing

int main(int argc, char** argv) {
  const std::string filter = argc > 1 ? argv[1] : "";
  int passed = 0, failed = 0;
  for (const auto& c : testing::registry()) {
    if (!filter.empty() && std::string(c.name).find(filter) == std::string::npos) continue;
    try {
      c.body();
      ++passed;
      std::cout << "ok   " << c.name << "\n";
    } catch (const testing::Failure& f) {
      ++failed;
      std::cout << "FAIL " << c.name << ": " << f.message << "\n";
    } catch (const std::exception& e) {
      ++failed;
      std::cout << "FAIL " << c.name << ": unexpected exception: " << e.what() << "\n";
    }
  }
  std::cout << "native: " << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}
