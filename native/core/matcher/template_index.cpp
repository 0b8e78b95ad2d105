#include "template_index.h"

#include <memory>
#include <mutex>

#include "errors.h"
#include "searcher.h"

namespace faceserver::matcher {

void TemplateIndex::add(int64_t id, const float* embedding) {
  addBatch(&id, embedding, 1);
}

void TemplateIndex::addBatch(const int64_t* ids, const float* embeddings, size_t n) {
  if (n > kMaxTemplates) throw EngineError(ErrorCode::InvalidArgument, "too many templates in one batch");
  // Rows are validated as they are encoded, under the lock (reading each row once, not twice, is what a
  // load of millions costs); a bad row still changes nothing (TemplateStore::put).
  std::unique_lock<std::shared_mutex> lock(mutex_);
  store_.put(ids, embeddings, n);
}

void TemplateIndex::reserve(size_t count) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  store_.reserve(count);
}

bool TemplateIndex::remove(int64_t id) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  return store_.remove(id);
}

bool TemplateIndex::contains(int64_t id) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return store_.contains(id);
}

void TemplateIndex::clear() {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  store_.clear();
}

size_t TemplateIndex::size() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return store_.size();
}

size_t TemplateIndex::memoryBytes() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return store_.memoryBytes();
}

double TemplateIndex::bytesPerTemplate() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return store_.size() == 0 ? 0.0 : static_cast<double>(store_.memoryBytes()) / static_cast<double>(store_.size());
}

std::vector<Match> TemplateIndex::search(const float* query, const SearchOptions& options) const {
  auto codes = std::make_unique<QueryCodes>();  // ~3.6 KB, 64-byte aligned (C++17 aligned new)
  encodeQuery(query, *codes);
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return Searcher(store_, options).search(*codes);
}

}  // namespace faceserver::matcher
