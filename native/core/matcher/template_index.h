// The in-memory 1:N index of one collection: thread-safe add / remove / search over a TemplateStore.
// Searches share a read lock; writes take the write lock (a write waits for running scans, a few ms at 1M).
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <vector>

#include "search_options.h"
#include "template_store.h"

namespace faceserver::matcher {

class TemplateIndex {
 public:
  // Adds, or replaces the template of an id already present. The embedding need not be normalised.
  void add(int64_t id, const float* embedding);
  // n ids and n x 512 floats; validates all before changing anything. A repeated id: the last one wins.
  void addBatch(const int64_t* ids, const float* embeddings, size_t n);
  // Room for `count` templates in total (call before streaming a known number in batches).
  void reserve(size_t count);
  bool remove(int64_t id);
  bool contains(int64_t id) const;
  void clear();

  size_t size() const;
  size_t memoryBytes() const;
  double bytesPerTemplate() const;

  std::vector<Match> search(const float* query, const SearchOptions& options) const;

 private:
  mutable std::shared_mutex mutex_;
  TemplateStore store_;
};

}  // namespace faceserver::matcher
