// The templates of one collection in dense arrays: sign codes in the block layout (see kernels.h), int8
// codes row by row with one scale and residual bits each, face ids by slot, and an id -> slot map. Removing swaps the
// last template into the hole, so the arrays stay dense and scans never skip gaps. Not thread-safe (TemplateIndex locks
// around it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "aligned_buffer.h"
#include "id_map.h"
#include "kernels.h"
#include "template_code.h"

namespace faceserver::matcher {

constexpr size_t kMaxTemplates = size_t{1} << 28;  // 268M per collection: slots fit uint32, far above RAM

class TemplateStore {
 public:
  // Adds n ids with n x 512 floats or, for an id already present, replaces its template (a repeated id: the
  // last one wins). Embeddings need not be normalised. A negative id or a bad embedding throws
  // InvalidArgument and leaves the contents as they were (only spare capacity may have been added).
  void put(const int64_t* ids, const float* embeddings, size_t n);
  bool remove(int64_t id);
  bool contains(int64_t id) const { return ids_.find(id) >= 0; }
  void clear();
  // Room for exactly `count` templates in total without reallocating.
  void reserve(size_t count);
  // Room for `count` templates, growing by at least 1/64: amortised O(1), since big arrays grow in place
  // (aligned_buffer.h), and the slack stays within the 700 bytes per template budget however the
  // collection is filled (one add at a time included).
  void grow(size_t count);

  size_t size() const { return size_; }
  size_t memoryBytes() const;

  const uint64_t* signBlocks() const { return signs_.data(); }
  const uint8_t* codeOf(size_t slot) const { return codes_.data() + slot * kDims; }
  const float& scaleOf(size_t slot) const { return scales_[slot]; }
  const uint64_t* residualOf(size_t slot) const { return residuals_.data() + slot * kSignWords; }
  int64_t idOf(size_t slot) const { return slotIds_[slot]; }
  // Sign word w of the template in `slot` (for tests of the layout).
  uint64_t signWord(size_t slot, size_t w) const { return signs_[signIndex(slot, w)]; }

 private:
  static size_t signIndex(size_t slot, size_t w) {
    return (slot / kBlockTemplates) * kBlockWords + w * kBlockTemplates + slot % kBlockTemplates;
  }
  void writeSlot(size_t slot, int64_t id, const float* embedding);
  void moveSlot(size_t from, size_t to);
  void setCapacity(size_t capacity);

  AlignedBuffer<uint64_t> signs_;      // capacity / 8 blocks of 64 words
  AlignedBuffer<uint8_t> codes_;       // capacity x 512 offset-binary bytes
  AlignedBuffer<float> scales_;        // capacity: cosine per unit of code . unit query
  AlignedBuffer<uint64_t> residuals_;  // capacity x 8 words: int8 rounding direction bits
  AlignedBuffer<int64_t> slotIds_;
  IdMap ids_;
  size_t size_ = 0;
  size_t capacity_ = 0;  // a multiple of 8
};

}  // namespace faceserver::matcher
