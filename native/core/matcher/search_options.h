// What a caller can ask of a search.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels.h"

namespace faceserver::matcher {

enum class SearchMode {
  TwoStage,    // Hamming pre-filter keeps `candidates` templates, then they are rescored (int8 or float)
  Exact,       // int8 dot against every template
  ExactFloat,  // float query against every template's int8 code (no query quantisation)
  Hamming,     // sign codes only; score = cos(pi * distance / 512)
};

enum class Rescore { Int8, Float };

// How the TwoStage pre-filter ranks templates by their sign codes: by a Hamming distance weighted with the
// query's own |components| (2 popcounts per word, about half the noise), or by the plain Hamming distance.
enum class Prefilter { Weighted, Hamming };

constexpr size_t kMaxK = 10000;
// candidates = kAutoCandidates: about 1% of the collection, within 128..1024, and at least 16 per result asked
// for. Recall@1 measured at the fixed sizes: 0.998 at 10k with 128 (as with 1024), 0.999 at 100k with 1024, 0.997
// at 1M with 1024 (benchmarks/RESULTS.md, "Matcher"); small collections rescore 8x fewer candidates.
constexpr size_t kAutoCandidates = 0;
constexpr size_t kAutoCandidatesMin = 128;
constexpr size_t kAutoCandidatesMax = 1024;
constexpr size_t kAutoCandidatesPerResult = 16;

struct SearchOptions {
  size_t k = 1;
  float threshold = -1.0f;  // keep matches with score >= threshold (cosine)
  SearchMode mode = SearchMode::TwoStage;
  Rescore rescore = Rescore::Float;  // float query x int8 codes: no query quantisation, same cost
  Prefilter prefilter = Prefilter::Weighted;
  size_t candidates = kAutoCandidates;  // pre-filter size for TwoStage (0: auto, see above) ...
  double candidateRatio = 0;            // ... or this share of the collection, whichever is larger
  size_t threads = 1;                   // capped at ScanPool::shared().parallelism()
  KernelPath path = KernelPath::Auto;
};

// The pre-filter size kAutoCandidates stands for, for a collection of n templates and k results.
inline size_t autoCandidates(size_t n, size_t k) {
  const size_t byShare = n / 100 < kAutoCandidatesMin ? kAutoCandidatesMin : n / 100;
  const size_t byResults = k * kAutoCandidatesPerResult;
  const size_t wanted = byShare > byResults ? byShare : byResults;
  return wanted < kAutoCandidatesMax ? wanted : kAutoCandidatesMax;
}

struct Match {
  int64_t id;
  float score;  // cosine (estimated from the codes the mode uses)
};

}  // namespace faceserver::matcher
