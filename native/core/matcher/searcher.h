// The scans over a TemplateStore: Hamming pre-filter, int8 and float rescoring, full scans, split over
// threads by block ranges. The caller holds the store's read lock.
#pragma once

#include <vector>

#include "search_options.h"
#include "template_store.h"

namespace faceserver::matcher {

class Searcher {
 public:
  Searcher(const TemplateStore& store, const SearchOptions& options);
  std::vector<Match> search(const QueryCodes& query) const;

 private:
  using Ranked = std::vector<std::pair<int64_t, uint32_t>>;  // (cost, slot), best first

  size_t candidateCount() const;
  size_t threadCount() const;
  // Runs `scan(firstBlock, endBlock)` on each thread's share of the blocks and merges the best `keep`.
  template <typename Scan>
  Ranked splitScan(size_t keep, const Scan& scan) const;

  // The `keep` best by sign codes: Hamming distance, or the query-weighted cost when `weighted`.
  Ranked signTop(const QueryCodes& query, bool weighted, size_t keep, size_t firstBlock, size_t endBlock) const;
  Ranked int8Top(const QueryCodes& query, size_t keep, size_t firstBlock, size_t endBlock) const;
  Ranked floatTop(const QueryCodes& query, size_t keep, size_t firstBlock, size_t endBlock) const;
  std::vector<Match> rescore(const QueryCodes& query, const Ranked& candidates) const;
  // Re-ranks the best few of a float-rescored list with the residual bits; returns the best `k`.
  Ranked refine(const QueryCodes& query, Ranked ranked, size_t k) const;
  std::vector<Match> toMatches(const Ranked& ranked) const;

  const TemplateStore& store_;
  SearchOptions options_;
  const Kernels& kernels_;
};

}  // namespace faceserver::matcher
