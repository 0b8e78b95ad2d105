#include "id_map.h"

#include <algorithm>

namespace faceserver::matcher {

namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finaliser: sequential database ids spread over all buckets
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

size_t IdMap::bucketOf(int64_t id) const {
  // hash x buckets / 2^64: any bucket count, not only powers of two, so the table can grow by 3/2.
  return static_cast<size_t>((static_cast<unsigned __int128>(mix(static_cast<uint64_t>(id))) * keys_.size()) >> 64);
}

size_t IdMap::nextBucket(size_t b) const {
  return b + 1 == keys_.size() ? 0 : b + 1;
}

int64_t IdMap::find(int64_t id) const {
  if (keys_.empty()) return -1;
  for (size_t b = bucketOf(id);; b = nextBucket(b)) {
    if (keys_[b] == id) return slots_[b];
    if (keys_[b] == kEmpty) return -1;
  }
}

void IdMap::put(int64_t id, uint32_t slot) {
  reserve(size_ + 1);
  for (size_t b = bucketOf(id);; b = nextBucket(b)) {
    if (keys_[b] == id) {
      slots_[b] = slot;
      return;
    }
    if (keys_[b] == kEmpty) {
      keys_[b] = id;
      slots_[b] = slot;
      ++size_;
      return;
    }
  }
}

int64_t IdMap::findOrInsert(int64_t id, uint32_t slot) {
  reserve(size_ + 1);
  for (size_t b = bucketOf(id);; b = nextBucket(b)) {
    if (keys_[b] == id) return slots_[b];
    if (keys_[b] == kEmpty) {
      keys_[b] = id;
      slots_[b] = slot;
      ++size_;
      return -1;
    }
  }
}

bool IdMap::erase(int64_t id) {
  if (keys_.empty()) return false;
  size_t hole = bucketOf(id);
  while (keys_[hole] != id) {
    if (keys_[hole] == kEmpty) return false;
    hole = nextBucket(hole);
  }
  // Backward shift: pull later entries of the probe run into the hole so lookups never need tombstones.
  for (size_t next = nextBucket(hole); keys_[next] != kEmpty; next = nextBucket(next)) {
    const size_t home = bucketOf(keys_[next]);
    const bool movable = hole <= next ? (home <= hole || home > next) : (home <= hole && home > next);
    if (movable) {
      keys_[hole] = keys_[next];
      slots_[hole] = slots_[next];
      hole = next;
    }
  }
  keys_[hole] = kEmpty;
  --size_;
  if (keys_.size() > kMinBuckets && size_ * 8 < keys_.size()) rehash(keys_.size() / 2);  // give memory back
  return true;
}

void IdMap::clear() {
  std::vector<int64_t>().swap(keys_);
  std::vector<uint32_t>().swap(slots_);
  size_ = 0;
}

void IdMap::reserve(size_t count) {
  // Sized for 3/5 full (20 bytes an entry, short probe runs for bulk inserts), growing by at least 3/2 so
  // that reserving a little more at a time stays amortised O(1).
  if (count * 4 > keys_.size() * 3) rehash(std::max({kMinBuckets, count / 3 * 5 + 5, keys_.size() / 2 * 3}));
}

void IdMap::rehash(size_t buckets) {
  std::vector<int64_t> oldKeys(buckets, kEmpty);
  std::vector<uint32_t> oldSlots(buckets, 0);
  oldKeys.swap(keys_);
  oldSlots.swap(slots_);
  for (size_t i = 0; i < oldKeys.size(); ++i) {
    if (oldKeys[i] == kEmpty) continue;
    size_t b = bucketOf(oldKeys[i]);
    while (keys_[b] != kEmpty) b = nextBucket(b);
    keys_[b] = oldKeys[i];
    slots_[b] = oldSlots[i];
  }
}

}  // namespace faceserver::matcher
