// Single-core memory read bandwidth, measured with a streaming sum over a buffer much larger than the caches:
// the ceiling the Hamming pre-filter scan is compared against.
#pragma once

#include <cstddef>

namespace faceserver::matcher {

struct BandwidthResult {
  double gbPerSecond;  // best of the repeats (1 GB = 1e9 bytes)
  size_t bytes;
  int repeats;
};

// bytes: buffer size (>= 64 MB is outside any cache here; capped at 4 GB); repeats: 1..100.
BandwidthResult measureReadBandwidth(size_t bytes, int repeats);

}  // namespace faceserver::matcher
