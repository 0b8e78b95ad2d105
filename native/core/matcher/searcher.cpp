#include "searcher.h"

#include <cmath>
#include <limits>

#include "errors.h"
#include "scan_pool.h"
#include "top_k.h"

namespace faceserver::matcher {

namespace {

constexpr size_t kChunkBlocks = 256;    // 2048 templates per Hamming kernel call (fits L1 buffers)
constexpr size_t kDotChunk = 256;       // templates per int8 kernel call
constexpr double kCostScale = 1 << 24;  // cosines as fixed-point costs (-cosine x 2^24), so one Ranked type serves all
constexpr size_t kRescoreAhead = 8;     // candidates are scattered: fetch this many codes ahead
constexpr size_t kRefineExtra = 4;      // float-ranked lists keep k + this many for the residual re-rank

int64_t costOf(double cosine) {
  return -std::llround(cosine * kCostScale);
}
constexpr double kPi = 3.14159265358979323846;

}  // namespace

Searcher::Searcher(const TemplateStore& store, const SearchOptions& options)
    : store_(store), options_(options), kernels_(kernelsFor(options.path)) {
  if (options.k == 0 || options.k > kMaxK) throw EngineError(ErrorCode::InvalidArgument, "k must be 1..10000");
  if (!(options.candidateRatio >= 0 && options.candidateRatio <= 1)) {
    throw EngineError(ErrorCode::InvalidArgument, "candidateRatio must be within 0..1");
  }
  if (!std::isfinite(options.threshold)) throw EngineError(ErrorCode::InvalidArgument, "threshold must be finite");
  if (options.threads == 0) throw EngineError(ErrorCode::InvalidArgument, "threads must be >= 1");
}

size_t Searcher::candidateCount() const {
  const size_t n = store_.size();
  const size_t byRatio = static_cast<size_t>(std::ceil(options_.candidateRatio * static_cast<double>(n)));
  const size_t candidates =
      options_.candidates == kAutoCandidates ? autoCandidates(n, options_.k) : options_.candidates;
  return std::min(n, std::max({options_.k, candidates, byRatio}));
}

size_t Searcher::threadCount() const {
  const size_t blocks = (store_.size() + kBlockTemplates - 1) / kBlockTemplates;
  // Below ~64k templates a split costs more in wake-ups than it saves.
  const size_t useful = std::max<size_t>(1, blocks / 8192);
  return std::min({options_.threads, ScanPool::shared().parallelism(), useful});
}

template <typename Scan>
Searcher::Ranked Searcher::splitScan(size_t keep, const Scan& scan) const {
  const size_t blocks = (store_.size() + kBlockTemplates - 1) / kBlockTemplates;
  const size_t threads = threadCount();
  if (threads <= 1) return scan(0, blocks);
  std::vector<Ranked> parts(threads);
  ScanPool::shared().run(threads, [&](size_t t) { parts[t] = scan(blocks * t / threads, blocks * (t + 1) / threads); });
  TopK<int64_t> merged(keep);
  for (const auto& part : parts) {
    for (const auto& [cost, slot] : part) merged.push(cost, slot);
  }
  return merged.takeSorted();
}

Searcher::Ranked Searcher::signTop(const QueryCodes& query, bool weighted, size_t keep, size_t firstBlock,
                                   size_t endBlock) const {
  const uint32_t worst = weighted ? kWeightedCostMax : kDims;
  LowestCosts best(keep, worst + 1);
  uint32_t index[kChunkBlocks * kBlockTemplates];
  uint16_t cost[kChunkBlocks * kBlockTemplates];
  const size_t size = store_.size();
  for (size_t block = firstBlock; block < endBlock; block += kChunkBlocks) {
    const size_t nBlocks = std::min(kChunkBlocks, endBlock - block);
    // Only costs strictly below the worst kept one can enter: once the list is full, almost every block is
    // rejected inside the kernel by one compare.
    const uint32_t below = best.below();
    const uint64_t* blocks = store_.signBlocks() + block * kBlockWords;
    const size_t found = weighted ? kernels_.weightedBelow(blocks, nBlocks, query, below, index, cost)
                                  : kernels_.hammingBelow(blocks, nBlocks, query.sign, below, index, cost);
    for (size_t i = 0; i < found; ++i) {
      const size_t slot = block * kBlockTemplates + index[i];
      if (slot < size) best.add(cost[i], static_cast<uint32_t>(slot));  // skip the last block's padding
    }
  }
  return best.takeSorted();
}

Searcher::Ranked Searcher::int8Top(const QueryCodes& query, size_t keep, size_t firstBlock, size_t endBlock) const {
  if (keep == 0) return {};
  TopK<int64_t> top(keep);
  int32_t dots[kDotChunk];
  const size_t first = firstBlock * kBlockTemplates;
  const size_t end = std::min(store_.size(), endBlock * kBlockTemplates);
  double scaled[kDotChunk];
  const int32_t offset = 128 * query.codeSum;
  // cosine x kCostScale, bit-identical to costOf's product (scaling by a power of two is exact).
  const double queryScale = static_cast<double>(query.scale) * kCostScale;
  // Once the list is full, an entry needs llround(scaled) >= -worst, so scaled >= -worst - 0.5: cheaper
  // templates are dropped by one compare, without the llround and the heap (most of a full scan's cost
  // after the dots themselves). The test passes a superset, so the kept set is the same.
  double bar = -std::numeric_limits<double>::infinity();
  for (size_t slot = first; slot < end; slot += kDotChunk) {
    const size_t n = std::min(kDotChunk, end - slot);
    kernels_.offsetDots(store_.codeOf(slot), n, query, dots);
    const float* scales = &store_.scaleOf(slot);
    for (size_t i = 0; i < n; ++i) scaled[i] = static_cast<double>(dots[i] - offset) * queryScale * scales[i];
    for (size_t i = 0; i < n; ++i) {
      if (scaled[i] < bar) continue;
      top.push(-std::llround(scaled[i]), static_cast<uint32_t>(slot + i));
      if (top.full()) bar = -static_cast<double>(top.worstCost()) - 0.5;
    }
  }
  return top.takeSorted();
}

Searcher::Ranked Searcher::floatTop(const QueryCodes& query, size_t keep, size_t firstBlock, size_t endBlock) const {
  TopK<int64_t> top(keep);
  const size_t first = firstBlock * kBlockTemplates;
  const size_t end = std::min(store_.size(), endBlock * kBlockTemplates);
  for (size_t slot = first; slot < end; ++slot) {
    const double cosine = static_cast<double>(kernels_.floatDot(store_.codeOf(slot), query)) * store_.scaleOf(slot);
    top.push(costOf(cosine), static_cast<uint32_t>(slot));
  }
  return top.takeSorted();
}

Searcher::Ranked Searcher::refine(const QueryCodes& query, Ranked ranked, size_t k) const {
  for (auto& [cost, slot] : ranked) {
    const double cosine = (static_cast<double>(kernels_.floatDot(store_.codeOf(slot), query)) +
                           residualCorrection(store_.residualOf(slot), query)) *
                          store_.scaleOf(slot);
    cost = costOf(cosine);
  }
  std::sort(ranked.begin(), ranked.end());
  if (ranked.size() > k) ranked.resize(k);
  return ranked;
}

std::vector<Match> Searcher::rescore(const QueryCodes& query, const Ranked& candidates) const {
  const bool refined = options_.rescore == Rescore::Float;
  TopK<int64_t> top(refined ? options_.k + kRefineExtra : options_.k);
  const int32_t offset = 128 * query.codeSum;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i + kRescoreAhead < candidates.size()) {
      const uint32_t ahead = candidates[i + kRescoreAhead].second;
      const uint8_t* next = store_.codeOf(ahead);
      for (size_t line = 0; line < kDims; line += 64) __builtin_prefetch(next + line);
      __builtin_prefetch(&store_.scaleOf(ahead));
    }
    const uint32_t slot = candidates[i].second;
    double cosine;
    if (options_.rescore == Rescore::Int8) {
      int32_t dot;
      kernels_.offsetDots(store_.codeOf(slot), 1, query, &dot);
      cosine = static_cast<double>(dot - offset) * query.scale * store_.scaleOf(slot);
    } else {
      cosine = static_cast<double>(kernels_.floatDot(store_.codeOf(slot), query)) * store_.scaleOf(slot);
    }
    top.push(costOf(cosine), slot);
  }
  return toMatches(refined ? refine(query, top.takeSorted(), options_.k) : top.takeSorted());
}

std::vector<Match> Searcher::toMatches(const Ranked& ranked) const {
  std::vector<Match> matches;
  for (const auto& [cost, slot] : ranked) {
    // Quantisation can push a near-duplicate's estimate a little past 1; report a valid cosine.
    const float score = static_cast<float>(std::min(1.0, static_cast<double>(-cost) / kCostScale));
    if (score < options_.threshold) break;  // ranked best first
    matches.push_back({store_.idOf(slot), score});
  }
  return matches;
}

std::vector<Match> Searcher::search(const QueryCodes& query) const {
  if (store_.size() == 0) return {};
  const size_t k = std::min(options_.k, store_.size());
  switch (options_.mode) {
    case SearchMode::Exact: return toMatches(splitScan(k, [&](size_t a, size_t b) { return int8Top(query, k, a, b); }));
    case SearchMode::ExactFloat: {
      const size_t keep = k + kRefineExtra;
      return toMatches(
          refine(query, splitScan(keep, [&](size_t a, size_t b) { return floatTop(query, keep, a, b); }), k));
    }
    case SearchMode::Hamming: {
      const Ranked ranked = splitScan(k, [&](size_t a, size_t b) { return signTop(query, false, k, a, b); });
      std::vector<Match> matches;
      for (const auto& [distance, slot] : ranked) {
        const float score = static_cast<float>(std::cos(kPi * static_cast<double>(distance) / kDims));
        if (score < options_.threshold) break;
        matches.push_back({store_.idOf(slot), score});
      }
      return matches;
    }
    case SearchMode::TwoStage: {
      const size_t keep = candidateCount();
      const bool weighted = options_.prefilter == Prefilter::Weighted;
      return rescore(query, splitScan(keep, [&](size_t a, size_t b) { return signTop(query, weighted, keep, a, b); }));
    }
  }
  return {};
}

}  // namespace faceserver::matcher
