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
constexpr size_t kDefaultCandidates = 1024;

struct SearchOptions {
  size_t k = 1;
  float threshold = -1.0f;  // keep matches with score >= threshold (cosine)
  SearchMode mode = SearchMode::TwoStage;
  Rescore rescore = Rescore::Float;  // float query x int8 codes: no query quantisation, same cost
  Prefilter prefilter = Prefilter::Weighted;
  size_t candidates = kDefaultCandidates;  // pre-filter size for TwoStage ...
  double candidateRatio = 0;               // ... or this share of the collection, whichever is larger
  size_t threads = 1;                      // capped at ScanPool::shared().parallelism()
  KernelPath path = KernelPath::Auto;
};

struct Match {
  int64_t id;
  float score;  // cosine (estimated from the codes the mode uses)
};

}  // namespace faceserver::matcher
