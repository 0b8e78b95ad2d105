#include "template_store.h"

#include <algorithm>
#include <cstring>

#include "errors.h"

namespace faceserver::matcher {

namespace {

size_t roundUpToBlock(size_t n) {
  return (n + kBlockTemplates - 1) / kBlockTemplates * kBlockTemplates;
}

}  // namespace

void TemplateStore::setCapacity(size_t capacity) {
  capacity = roundUpToBlock(capacity);
  signs_.reallocate(capacity / kBlockTemplates * kBlockWords);
  codes_.reallocate(capacity * kDims);
  slotIds_.reallocate(capacity);
  capacity_ = capacity;
}

void TemplateStore::reserve(size_t count) {
  if (count > kMaxTemplates) throw EngineError(ErrorCode::InvalidArgument, "too many templates for one collection");
  if (count > capacity_) setCapacity(count);
  ids_.reserve(count);
}

void TemplateStore::grow(size_t count) {
  if (count > capacity_) reserve(std::max<size_t>({count, capacity_ + capacity_ / 8, 64}));
}

void TemplateStore::writeSlot(size_t slot, int64_t id, const float* unit) {
  uint64_t sign[kSignWords];
  encodeUnit(unit, codes_.data() + slot * kDims, sign);
  for (size_t w = 0; w < kSignWords; ++w) signs_[signIndex(slot, w)] = sign[w];
  slotIds_[slot] = id;
}

void TemplateStore::moveSlot(size_t from, size_t to) {
  std::memcpy(codes_.data() + to * kDims, codes_.data() + from * kDims, kDims);
  for (size_t w = 0; w < kSignWords; ++w) signs_[signIndex(to, w)] = signs_[signIndex(from, w)];
  slotIds_[to] = slotIds_[from];
}

void TemplateStore::put(int64_t id, const float* unit) {
  if (id < 0) throw EngineError(ErrorCode::InvalidArgument, "face id must be >= 0");
  const int64_t existing = ids_.find(id);
  if (existing >= 0) {
    writeSlot(static_cast<size_t>(existing), id, unit);
    return;
  }
  if (size_ == capacity_) grow(size_ + 1);
  writeSlot(size_, id, unit);
  ids_.put(id, static_cast<uint32_t>(size_));
  ++size_;
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
  return sizeof(*this) + signs_.bytes() + codes_.bytes() + slotIds_.bytes() + ids_.bytes();
}

}  // namespace faceserver::matcher
