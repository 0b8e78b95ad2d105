#include "template_index.h"

#include <memory>
#include <mutex>

#include "errors.h"
#include "searcher.h"

namespace faceserver::matcher {

void TemplateIndex::add(int64_t id, const float* embedding) {
  if (id < 0) throw EngineError(ErrorCode::InvalidArgument, "face id must be >= 0");
  validateEmbedding(embedding);  // outside the lock: a bad one never waits for running scans
  std::unique_lock<std::shared_mutex> lock(mutex_);
  store_.putValidated(&id, embedding, 1);
}

void TemplateIndex::addBatch(const int64_t* ids, const float* embeddings, size_t n) {
  if (n > kMaxTemplates) throw EngineError(ErrorCode::InvalidArgument, "too many templates in one batch");
  // Validate every row before the lock, so a bad row changes nothing and scans are not held up by it.
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] < 0) throw EngineError(ErrorCode::InvalidArgument, "face id must be >= 0");
    validateEmbedding(embeddings + i * kDims);
  }
  std::unique_lock<std::shared_mutex> lock(mutex_);
  store_.putValidated(ids, embeddings, n);
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
