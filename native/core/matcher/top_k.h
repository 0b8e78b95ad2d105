// Keeps the `capacity` best (lowest cost) entries seen; ties go to the lower slot, so every kernel path and
// every thread split keeps exactly the same set.
#pragma once

#include <algorithm>
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

}  // namespace faceserver::matcher
