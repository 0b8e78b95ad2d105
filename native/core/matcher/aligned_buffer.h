// A growable array of trivially copyable values on 64-byte (cache line / zmm) aligned memory.
// Growth is explicit (reallocate), so the owner decides how much slack to keep.
//
// Arrays of 64 KB and more live in a reserved range of address space twice the size asked for: growing
// within it only commits more pages in place (no copy), so the owner can grow in small steps and keep little
// slack (what a collection filled by single adds costs per template). Only committed pages are memory;
// bytes() reports them.
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
  ~AlignedBuffer() { release(); }

  // Resizes to exactly `capacity` elements, keeping the first min(old, new) ones; new ones are zero (and
  // touched, so first-touch page faults happen here rather than in the writes that follow).
  void reallocate(size_t capacity) {
    const size_t bytes = capacity * sizeof(T);
    if (capacity == 0) {
      release();
    } else if (reserved_ > 0 && bytes <= reserved_) {
      commit(bytes);
    } else {
      moveTo(capacity);
    }
    if (capacity > capacity_) {
      std::memset(reinterpret_cast<char*>(data_) + capacity_ * sizeof(T), 0, (capacity - capacity_) * sizeof(T));
    }
    capacity_ = capacity;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  size_t capacity() const { return capacity_; }
  // Memory held: the capacity rounded up to the allocation unit (64 bytes, or pages when mapped).
  size_t bytes() const { return committed_; }

 private:
  static constexpr size_t kMapBytes = size_t{64} << 10;  // below this, a plain heap block
  static constexpr size_t kPage = 4096;
  static constexpr size_t kHugePage = size_t{2} << 20;

  static size_t roundUp(size_t n, size_t unit) { return (n + unit - 1) / unit * unit; }

  // A new block for `capacity` elements; copies what is kept and frees the old one.
  void moveTo(size_t capacity) {
    const size_t bytes = capacity * sizeof(T);
    const size_t kept = (capacity < capacity_ ? capacity : capacity_) * sizeof(T);
    T* fresh = nullptr;
    void* mapping = nullptr;
    size_t mappingBytes = 0, reserved = 0, committed = 0;
#ifdef __linux__
    if (bytes >= kMapBytes) {
      reserved = roundUp(2 * bytes, kHugePage);
      // One huge page more, to start on a 2 MB boundary: rescoring reads scattered templates, and with
      // 4 KB pages each one costs a page walk as well as a cache miss. Reserved, not committed: no memory.
      mappingBytes = reserved + kHugePage;
      mapping = mmap(nullptr, mappingBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (mapping == MAP_FAILED) throw std::bad_alloc();
      fresh = reinterpret_cast<T*>(roundUp(reinterpret_cast<size_t>(mapping), kHugePage));
      madvise(fresh, reserved, MADV_HUGEPAGE);  // advisory: fine if refused
      committed = roundUp(bytes, kPage);
      if (mprotect(fresh, committed, PROT_READ | PROT_WRITE) != 0) {
        munmap(mapping, mappingBytes);
        throw std::bad_alloc();
      }
    }
#endif
    if (!fresh) {
      committed = roundUp(bytes, 64);
      fresh = static_cast<T*>(std::aligned_alloc(64, committed));
      if (!fresh) throw std::bad_alloc();
    }
    if (kept) std::memcpy(static_cast<void*>(fresh), data_, kept);
    release();
    data_ = fresh;
    mapping_ = mapping;
    mappingBytes_ = mappingBytes;
    reserved_ = reserved;
    committed_ = committed;
    capacity_ = kept / sizeof(T);
  }

  // Within the reserved range: commits pages up to `bytes`, or gives back those past it.
  void commit(size_t bytes) {
#ifdef __linux__
    const size_t wanted = roundUp(bytes, kPage);
    char* base = reinterpret_cast<char*>(data_);
    if (wanted > committed_) {
      if (mprotect(base + committed_, wanted - committed_, PROT_READ | PROT_WRITE) != 0) throw std::bad_alloc();
      committed_ = wanted;
    } else if (wanted < committed_) {
      // A fresh inaccessible mapping over the tail frees its pages; if that fails they stay held (and counted).
      if (mmap(base + wanted, committed_ - wanted, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
               -1, 0) != MAP_FAILED) {
        madvise(base + wanted, committed_ - wanted, MADV_HUGEPAGE);  // the new mapping lost it; regrowth wants it
        committed_ = wanted;
      }
    }
#endif
    (void)bytes;
  }

  void release() {
#ifdef __linux__
    if (mapping_) munmap(mapping_, mappingBytes_);
#endif
    if (!mapping_) std::free(data_);
    data_ = nullptr;
    mapping_ = nullptr;
    mappingBytes_ = reserved_ = committed_ = capacity_ = 0;
  }

  T* data_ = nullptr;
  size_t capacity_ = 0;
  size_t committed_ = 0;     // bytes of memory held at data_
  size_t reserved_ = 0;      // mapped: bytes of address space at data_ (0: a heap block)
  void* mapping_ = nullptr;  // mapped: the whole mapping (data_ is its first 2 MB boundary)
  size_t mappingBytes_ = 0;
};

}  // namespace faceserver::matcher
