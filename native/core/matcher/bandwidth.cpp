#include "bandwidth.h"

// GCC 12's AVX-512 headers build their "undefined" vectors from themselves, which -Wuninitialized flags
// inside every inlined reduce/extract intrinsic (a GCC bug, not ours).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <chrono>

#include "aligned_buffer.h"
#include "errors.h"
#include "kernels.h"

namespace faceserver::matcher {

namespace {

uint64_t sumScalar(const uint64_t* data, size_t words) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 4 <= words; i += 4) {
    a += data[i];
    b += data[i + 1];
    c += data[i + 2];
    d += data[i + 3];
  }
  return a + b + c + d;
}

__attribute__((target("avx512f"))) uint64_t sumAvx512(const uint64_t* data, size_t words) {
  __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512(), c = _mm512_setzero_si512(),
          d = _mm512_setzero_si512();
  for (size_t i = 0; i + 32 <= words; i += 32) {
    a = _mm512_add_epi64(a, _mm512_load_si512(data + i));
    b = _mm512_add_epi64(b, _mm512_load_si512(data + i + 8));
    c = _mm512_add_epi64(c, _mm512_load_si512(data + i + 16));
    d = _mm512_add_epi64(d, _mm512_load_si512(data + i + 24));
  }
  return static_cast<uint64_t>(
      _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(c, d))));
}

}  // namespace

BandwidthResult measureReadBandwidth(size_t bytes, int repeats) {
  if (bytes < (1u << 20) || bytes > (size_t{4} << 30)) {
    throw EngineError(ErrorCode::InvalidArgument, "bandwidth buffer must be 1 MB..4 GB");
  }
  if (repeats < 1 || repeats > 100) throw EngineError(ErrorCode::InvalidArgument, "repeats must be 1..100");
  const size_t words = bytes / 256 * 32;
  AlignedBuffer<uint64_t> buffer;
  buffer.reallocate(words);
  for (size_t i = 0; i < words; ++i) buffer[i] = i;  // touch every page before timing
  const bool wide = cpuSupports(KernelPath::Avx512);
  double best = 0;
  volatile uint64_t sink = 0;  // keeps the sums from being optimised away
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    sink = sink + (wide ? sumAvx512(buffer.data(), words) : sumScalar(buffer.data(), words));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(words * 8) / seconds / 1e9);
  }
  return {best, words * 8, repeats};
}

}  // namespace faceserver::matcher
