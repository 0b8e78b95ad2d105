#include "template_store.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "errors.h"

namespace faceserver::matcher {

namespace {

size_t roundUpToBlock(size_t n) {
  return (n + kBlockTemplates - 1) / kBlockTemplates * kBlockTemplates;
}

}  // namespace

void TemplateStore::setCapacity(size_t capacity) {
  capacity = roundUpToBlock(capacity);
  capacity_ = std::min(capacity_, capacity);  // never above an array's size, even if an allocation throws
  signs_.reallocate(capacity / kBlockTemplates * kBlockWords);
  codes_.reallocate(capacity * kDims);
  scales_.reallocate(capacity);
  residuals_.reallocate(capacity * kSignWords);
  slotIds_.reallocate(capacity);
  capacity_ = capacity;
}

void TemplateStore::reserve(size_t count) {
  if (count > kMaxTemplates) throw EngineError(ErrorCode::InvalidArgument, "too many templates for one collection");
  if (count > capacity_) setCapacity(count);
  ids_.reserve(count);
}

void TemplateStore::grow(size_t count) {
  if (count > capacity_) reserve(std::max<size_t>({count, capacity_ + capacity_ / 64, capacity_ + 64}));
}

void TemplateStore::writeSlot(size_t slot, int64_t id, const float* embedding) {
  uint64_t sign[kSignWords];
  scales_[slot] = encodeTemplate(embedding, codes_.data() + slot * kDims, sign, residuals_.data() + slot * kSignWords);
  for (size_t w = 0; w < kSignWords; ++w) signs_[signIndex(slot, w)] = sign[w];
  slotIds_[slot] = id;
}

void TemplateStore::moveSlot(size_t from, size_t to) {
  std::memcpy(codes_.data() + to * kDims, codes_.data() + from * kDims, kDims);
  scales_[to] = scales_[from];
  std::memcpy(residuals_.data() + to * kSignWords, residuals_.data() + from * kSignWords,
              kSignWords * sizeof(uint64_t));
  for (size_t w = 0; w < kSignWords; ++w) signs_[signIndex(to, w)] = signs_[signIndex(from, w)];
  slotIds_[to] = slotIds_[from];
}

void TemplateStore::put(const int64_t* ids, const float* embeddings, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] < 0) throw EngineError(ErrorCode::InvalidArgument, "face id must be >= 0");
  }
  grow(size_ + n);
  ids_.reserve(size_ + n);
  // One pass: each row is validated while it is encoded (encodeTemplate throws before writing), so it is read
  // once. Until the batch has passed, nothing visible changes: new ids fill the slots past size_, and a
  // template replacing a visible one is encoded into a spare slot at the far end of the room just made,
  // copied over at the end. A bad row undoes the new ids' map entries.
  const size_t first = size_;
  size_t next = first, spare = first + n;
  std::vector<std::pair<size_t, size_t>> replacements;  // (spare slot, visible slot)
  constexpr size_t kAhead = 8;  // id map buckets are random accesses: fetch them a few ids early
  try {
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) ids_.prefetch(ids[i + kAhead]);
      // One probe finds an existing id or claims the next free slot for a new one.
      const int64_t existing = ids_.findOrInsert(ids[i], static_cast<uint32_t>(next));
      size_t slot;
      if (existing < 0) {
        slot = next++;
      } else if (static_cast<size_t>(existing) >= first) {
        slot = static_cast<size_t>(existing);  // repeated within this batch, not visible yet
      } else {
        slot = --spare;
        replacements.emplace_back(slot, static_cast<size_t>(existing));
      }
      writeSlot(slot, ids[i], embeddings + i * kDims);
    }
  } catch (...) {
    for (size_t i = 0; i < n; ++i) {
      if (ids_.find(ids[i]) >= static_cast<int64_t>(first)) ids_.erase(ids[i]);
    }
    throw;
  }
  for (const auto& [from, to] : replacements) moveSlot(from, to);
  size_ = next;
}

bool TemplateStore::remove(int64_t id) {
  const int64_t found = ids_.find(id);
  if (found < 0) return false;
  const size_t slot = static_cast<size_t>(found);
  const size_t last = size_ - 1;
  if (slot != last) {
    moveSlot(last, slot);
    ids_.put(slotIds_[slot], static_cast<uint32_t>(slot));
  }
  ids_.erase(id);
  --size_;
  // Give memory back after mass deletes, keeping some slack so add/remove churn does not reallocate.
  if (capacity_ > 1024 && size_ < capacity_ / 2) setCapacity(size_ + size_ / 4);
  return true;
}

void TemplateStore::clear() {
  setCapacity(0);
  ids_.clear();
  size_ = 0;
}

size_t TemplateStore::memoryBytes() const {
  return sizeof(*this) + signs_.bytes() + codes_.bytes() + scales_.bytes() + residuals_.bytes() + slotIds_.bytes() +
         ids_.bytes();
}

}  // namespace faceserver::matcher
