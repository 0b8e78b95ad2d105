// Names the calling thread (Linux: the 15-character comm shown by `top -H`, `ps -L` and /proc/<pid>/task), so
// an operator can tell the engine's inference threads from the matcher's and from Node's own. No-op elsewhere.
#pragma once

#include <string>

#if defined(__linux__)
#include <pthread.h>
#endif

namespace faceserver {

inline void nameThisThread(const std::string& name) {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
#else
  (void)name;
#endif
}

}  // namespace faceserver
