// Face id -> slot in the index's dense arrays. Open addressing with linear probing and backward-shift
// deletion: 12 bytes per bucket, no per-entry allocation, so removes never fragment memory. At most 3/4 full;
// it grows by 3/2 (to 1/2 full), so single inserts cost at most 24 bytes an entry (doubling: 32).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace faceserver::matcher {

class IdMap {
 public:
  static constexpr int64_t kEmpty = -1;  // ids are >= 0

  // The slot of `id`, or -1 when absent.
  int64_t find(int64_t id) const;
  // Inserts or overwrites.
  void put(int64_t id, uint32_t slot);
  // The slot of `id` if present (unchanged); otherwise inserts (id, slot) and returns -1.
  int64_t findOrInsert(int64_t id, uint32_t slot);
  // Starts loading the bucket `id` hashes to (bulk inserts run ahead with it).
  void prefetch(int64_t id) const {
    if (!keys_.empty()) __builtin_prefetch(keys_.data() + bucketOf(id));
  }
  // Returns whether `id` was present.
  bool erase(int64_t id);
  void clear();
  // Makes room for `count` entries without rehashing.
  void reserve(size_t count);
  size_t size() const { return size_; }
  size_t bytes() const { return keys_.capacity() * sizeof(int64_t) + slots_.capacity() * sizeof(uint32_t); }

 private:
  static constexpr size_t kMinBuckets = 64;
  size_t bucketOf(int64_t id) const;
  size_t nextBucket(size_t b) const;
  void rehash(size_t buckets);

  std::vector<int64_t> keys_;
  std::vector<uint32_t> slots_;
  size_t size_ = 0;
};

}  // namespace faceserver::matcher
