// A growable array of trivially copyable values on 64-byte (cache line / zmm) aligned memory.
// Growth is explicit (reserve), so the owner decides how much slack to keep.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

namespace faceserver::matcher {

template <typename T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(data_); }

  // Reallocates to exactly `capacity` elements, keeping the first min(old, new) ones.
  void reallocate(size_t capacity) {
    T* fresh = nullptr;
    if (capacity > 0) {
      const size_t bytes = (capacity * sizeof(T) + 63) / 64 * 64;
      fresh = static_cast<T*>(std::aligned_alloc(64, bytes));
      if (!fresh) throw std::bad_alloc();
      std::memset(static_cast<void*>(fresh), 0, bytes);
      if (data_)
        std::memcpy(static_cast<void*>(fresh), data_, (capacity < capacity_ ? capacity : capacity_) * sizeof(T));
    }
    std::free(data_);
    data_ = fresh;
    capacity_ = capacity;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  size_t capacity() const { return capacity_; }
  size_t bytes() const { return capacity_ * sizeof(T); }

 private:
  T* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace faceserver::matcher
