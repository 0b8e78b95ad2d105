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
// bits. Entries are appended (one store); when the buffer holds twice `keep`, nth_element cuts it back to
// `keep` and lowers the bar. Same set as TopK: ties go to the lower slot.
class LowestCosts {
 public:
  explicit LowestCosts(size_t keep) : keep_(keep) { entries_.reserve(2 * keep + 4096); }

  // Costs at or above this cannot enter (an equal cost would lose the tie to an earlier, lower slot).
  uint32_t below() const { return below_; }
  void add(uint32_t cost, uint32_t slot) { entries_.push_back(uint64_t{cost} << 32 | slot); }
  // Call between kernel chunks: cuts the buffer back once it is full the first time, then at twice `keep`.
  void settle() {
    if (entries_.size() >= (below_ == kNoBar ? keep_ : 2 * keep_)) cut();
  }

  // Best first; leaves the buffer empty.
  std::vector<std::pair<int64_t, uint32_t>> takeSorted() {
    cut();
    std::sort(entries_.begin(), entries_.end());
    std::vector<std::pair<int64_t, uint32_t>> sorted;
    sorted.reserve(entries_.size());
    for (uint64_t e : entries_) sorted.emplace_back(static_cast<int64_t>(e >> 32), static_cast<uint32_t>(e));
    entries_.clear();
    return sorted;
  }

 private:
  static constexpr uint32_t kNoBar = UINT32_MAX;

  void cut() {
    if (keep_ == 0) {
      entries_.clear();
      return;
    }
    if (entries_.size() < keep_) return;
    std::nth_element(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(keep_ - 1), entries_.end());
    entries_.resize(keep_);
    below_ = static_cast<uint32_t>(entries_[keep_ - 1] >> 32);  // the worst kept cost
  }

  size_t keep_;
  uint32_t below_ = kNoBar;
  std::vector<uint64_t> entries_;  // cost << 32 | slot: one integer compare orders by cost, then slot
};

}  // namespace faceserver::matcher
