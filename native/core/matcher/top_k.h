// Keeps the `capacity` best (lowest cost) entries seen; ties go to the lower slot, so every kernel path and
// every thread split keeps exactly the same set.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace faceserver::matcher {

template <typename Cost>
class TopK {
 public:
  using Entry = std::pair<Cost, uint32_t>;  // (cost, slot)

  explicit TopK(size_t capacity) : capacity_(capacity) { heap_.reserve(capacity); }

  bool full() const { return heap_.size() >= capacity_; }
  // The cost an entry must beat (be strictly below) once full.
  Cost worstCost() const { return heap_.front().first; }

  void push(Cost cost, uint32_t slot) {
    if (capacity_ == 0) return;
    const Entry entry{cost, slot};
    if (heap_.size() < capacity_) {
      heap_.push_back(entry);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (entry < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = entry;
      std::push_heap(heap_.begin(), heap_.end());
    }
  }

  // Best first; leaves the TopK empty.
  std::vector<Entry> takeSorted() {
    std::sort(heap_.begin(), heap_.end());
    return std::move(heap_);
  }

 private:
  size_t capacity_;
  std::vector<Entry> heap_;  // max-heap: the worst kept entry on top
};

// The `keep` lowest (cost, slot) pairs of a scan that visits slots in increasing order, for the pre-filter,
// where keep is large (thousands) and a heap would spend more time sifting than the kernel spends counting
// bits. Costs are small integers (below `costLimit`), so a histogram gives the exact bar after every entry:
// a cost c can still enter only while fewer than `keep` entries cost <= c (an equal cost loses the tie to
// the earlier, lower slot). Entries are appended (one store each) and cut to `keep` at the end. Same set as
// TopK.
class LowestCosts {
 public:
  LowestCosts(size_t keep, uint32_t costLimit) : keep_(keep), below_(costLimit), histogram_(costLimit, 0) {
    entries_.reserve(keep);
  }

  // Costs at or above this cannot enter.
  uint32_t below() const { return below_; }
  void add(uint32_t cost, uint32_t slot) {
    if (cost >= below_) return;
    entries_.push_back(uint64_t{cost} << 32 | slot);
    ++histogram_[cost];
    ++live_;
    while (live_ >= keep_ && below_ > 0) live_ -= histogram_[--below_];  // lower the bar while it is full
  }

  // Best first; leaves the buffer empty.
  std::vector<std::pair<int64_t, uint32_t>> takeSorted() {
    // Entries below the bar all stay; of those at the bar, the first (lowest slots) fill the rest.
    size_t atBar = keep_ > live_ ? keep_ - live_ : 0;
    std::vector<std::pair<int64_t, uint32_t>> kept;
    kept.reserve(keep_);
    for (uint64_t e : entries_) {
      const auto cost = static_cast<uint32_t>(e >> 32);
      if (cost < below_ || (cost == below_ && atBar > 0 && atBar--)) {
        kept.emplace_back(static_cast<int64_t>(cost), static_cast<uint32_t>(e));
      }
    }
    std::sort(kept.begin(), kept.end());
    entries_.clear();
    return kept;
  }

 private:
  size_t keep_;
  uint32_t below_;
  size_t live_ = 0;  // entries costing less than below_
  std::vector<uint32_t> histogram_;
  std::vector<uint64_t> entries_;  // cost << 32 | slot, in scan (slot) order
};

}  // namespace faceserver::matcher
