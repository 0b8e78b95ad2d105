// A growable array of trivially copyable values on 64-byte (cache line / zmm) aligned memory.
// Growth is explicit (reserve), so the owner decides how much slack to keep.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#ifdef __linux__
#include <sys/mman.h>
#endif

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
      // Big arrays (the codes of a large collection) go on 2 MB pages where the kernel allows it: rescoring
      // reads scattered templates, and with 4 KB pages each one costs a page walk as well as a cache miss.
      const bool huge = capacity * sizeof(T) >= (size_t{4} << 20);
      const size_t alignment = huge ? (size_t{2} << 20) : 64;
      const size_t bytes = (capacity * sizeof(T) + alignment - 1) / alignment * alignment;
      fresh = static_cast<T*>(std::aligned_alloc(alignment, bytes));
      if (!fresh) throw std::bad_alloc();
#ifdef __linux__
      if (huge) madvise(fresh, bytes, MADV_HUGEPAGE);  // advisory: fine if refused
#endif
      const size_t kept = (data_ ? (capacity < capacity_ ? capacity : capacity_) : 0) * sizeof(T);
      if (kept) std::memcpy(static_cast<void*>(fresh), data_, kept);
      std::memset(reinterpret_cast<char*>(fresh) + kept, 0, bytes - kept);
    }
    std::free(data_);
    data_ = fresh;
    capacity_ = capacity;
  }

  T* data() {
    return data_;
  }
  const T* data() const {
    return data_;
  }
  T& operator[](size_t i) {
    return data_[i];
  }
  const T& operator[](size_t i) const {
    return data_[i];
  }
  size_t capacity() const {
    return capacity_;
  }
  size_t bytes() const {
    return capacity_ * sizeof(T);
  }

 private:
  T* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace faceserver::matcher
