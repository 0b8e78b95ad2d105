// MatcherIndex: the in-memory 1:N index of one collection, for JS. Thin: argument checks, error mapping,
// and async searches run on the matcher's own thread, completing a promise through a thread-safe function.
// Face ids cross as JS numbers (non-negative safe integers) or BigInts; results carry numbers.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "errors.h"
#include "js_errors.h"
#include "matcher/bandwidth.h"
#include "matcher/task_queue.h"
#include "matcher/template_index.h"
#include "options.h"

namespace faceserver::binding {

namespace {

using matcher::Match;
using matcher::SearchOptions;
using matcher::TemplateIndex;

constexpr double kMaxSafeInteger = 9007199254740991.0;
constexpr size_t kMaxQueuedSearches = 4096;

[[noreturn]] void fail(Napi::Env env, const std::string& message) {
  throw jsError(env, ErrorCode::InvalidArgument, message);
}

int64_t faceId(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (value.IsBigInt()) {
    bool lossless = false;
    const int64_t id = value.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless || id < 0) fail(env, "face id must be a non-negative 64-bit integer");
    return id;
  }
  if (!value.IsNumber()) fail(env, "face id must be a number or a BigInt");
  const double id = value.As<Napi::Number>().DoubleValue();
  if (!(id >= 0 && id <= kMaxSafeInteger) || std::floor(id) != id)
    fail(env, "face id must be a non-negative safe integer");
  return static_cast<int64_t>(id);
}

const float* embedding(const Napi::Value& value, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail(value.Env(), std::string(what) + " must be a Float32Array");
  }
  auto array = value.As<Napi::Float32Array>();
  if (array.ElementLength() != matcher::kDims) fail(value.Env(), std::string(what) + " must have 512 values");
  return array.Data();
}

// A count option: an integer within 0..max.
size_t sizeOption(const Napi::Object& options, const char* name, size_t fallback, size_t max) {
  return static_cast<size_t>(
      integerOption(options, name, static_cast<int64_t>(fallback), 0, static_cast<int64_t>(max)));
}

SearchOptions searchOptions(const Napi::Value& value) {
  SearchOptions o;
  if (value.IsUndefined()) return o;
  if (!value.IsObject()) fail(value.Env(), "search options must be an object");
  const auto options = value.As<Napi::Object>();
  o.k = sizeOption(options, "k", o.k, matcher::kMaxK);
  o.threshold = static_cast<float>(numberOption(options, "threshold", o.threshold));
  o.candidates = sizeOption(options, "candidates", o.candidates, matcher::kMaxTemplates);
  o.candidateRatio = numberOption(options, "candidateRatio", o.candidateRatio);
  o.threads = sizeOption(options, "threads", o.threads, 256);
  const std::string mode = stringOption(options, "mode", "twoStage");
  if (mode == "twoStage")
    o.mode = matcher::SearchMode::TwoStage;
  else if (mode == "exact")
    o.mode = matcher::SearchMode::Exact;
  else if (mode == "exactFloat")
    o.mode = matcher::SearchMode::ExactFloat;
  else if (mode == "hamming")
    o.mode = matcher::SearchMode::Hamming;
  else
    fail(value.Env(), "mode must be twoStage, exact, exactFloat or hamming");
  const std::string rescore = stringOption(options, "rescore", "float");
  if (rescore == "int8")
    o.rescore = matcher::Rescore::Int8;
  else if (rescore == "float")
    o.rescore = matcher::Rescore::Float;
  else
    fail(value.Env(), "rescore must be int8 or float");
  const std::string prefilter = stringOption(options, "prefilter", "weighted");
  if (prefilter == "weighted")
    o.prefilter = matcher::Prefilter::Weighted;
  else if (prefilter == "hamming")
    o.prefilter = matcher::Prefilter::Hamming;
  else
    fail(value.Env(), "prefilter must be weighted or hamming");
  o.path = matcher::kernelPathFromName(stringOption(options, "kernel", "auto"));
  return o;
}

Napi::Array matchesToJs(Napi::Env env, const std::vector<Match>& matches) {
  Napi::Array result = Napi::Array::New(env, matches.size());
  for (size_t i = 0; i < matches.size(); ++i) {
    Napi::Object m = Napi::Object::New(env);
    m.Set("id", Napi::Number::New(env, static_cast<double>(matches[i].id)));
    m.Set("score", Napi::Number::New(env, matches[i].score));
    result.Set(static_cast<uint32_t>(i), m);
  }
  return result;
}

matcher::TaskQueue& searchQueue() {
  static matcher::TaskQueue queue(kMaxQueuedSearches);
  return queue;
}

// One async search: filled on the matcher thread, settled on the JS thread.
struct SearchJob {
  SearchJob(std::shared_ptr<TemplateIndex> idx, std::vector<float> q, SearchOptions o, Napi::Promise::Deferred d)
      : index(std::move(idx)), query(std::move(q)), options(o), deferred(d) {}

  std::shared_ptr<TemplateIndex> index;
  std::vector<float> query;
  SearchOptions options;
  Napi::Promise::Deferred deferred;
  std::vector<Match> matches;
  bool failed = false;
  ErrorCode code = ErrorCode::Internal;
  std::string message;

  void run() {
    try {
      matches = index->search(query.data(), options);
    } catch (const EngineError& e) {
      failed = true;
      code = e.code();
      message = e.what();
    } catch (const std::exception& e) {
      failed = true;
      message = e.what();
    }
  }

  static void settle(Napi::Env env, Napi::Function, SearchJob* job) {
    std::unique_ptr<SearchJob> owned(job);
    if (env == nullptr) return;  // the environment is shutting down
    try {
      if (job->failed)
        job->deferred.Reject(jsError(env, job->code, job->message).Value());
      else
        job->deferred.Resolve(matchesToJs(env, job->matches));
    } catch (const std::exception& e) {
      job->deferred.Reject(jsError(env, ErrorCode::Internal, e.what()).Value());
    }
  }
};

class MatcherIndexWrap : public Napi::ObjectWrap<MatcherIndexWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(
        env, "MatcherIndex",
        {InstanceMethod<&MatcherIndexWrap::add>("add"), InstanceMethod<&MatcherIndexWrap::addBatch>("addBatch"),
         InstanceMethod<&MatcherIndexWrap::reserve>("reserve"), InstanceMethod<&MatcherIndexWrap::remove>("remove"),
         InstanceMethod<&MatcherIndexWrap::has>("has"), InstanceMethod<&MatcherIndexWrap::clear>("clear"),
         InstanceMethod<&MatcherIndexWrap::size>("size"), InstanceMethod<&MatcherIndexWrap::memoryBytes>("memoryBytes"),
         InstanceMethod<&MatcherIndexWrap::bytesPerTemplate>("bytesPerTemplate"),
         InstanceMethod<&MatcherIndexWrap::search>("search"),
         InstanceMethod<&MatcherIndexWrap::searchAsync>("searchAsync")});
  }

  explicit MatcherIndexWrap(const Napi::CallbackInfo& cb)
      : Napi::ObjectWrap<MatcherIndexWrap>(cb), index_(std::make_shared<TemplateIndex>()) {}

 private:
  Napi::Value add(const Napi::CallbackInfo& cb) {
    return guarded(cb.Env(), [&]() -> Napi::Value {
      index_->add(faceId(cb[0]), embedding(cb[1], "embedding"));
      return cb.Env().Undefined();
    });
  }

  // addBatch(ids: Float64Array | BigInt64Array, embeddings: Float32Array of ids.length * 512)
  Napi::Value addBatch(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    return guarded(env, [&]() -> Napi::Value {
      if (!cb[0].IsTypedArray()) fail(env, "ids must be a Float64Array or BigInt64Array");
      const auto idArray = cb[0].As<Napi::TypedArray>();
      std::vector<int64_t> ids(idArray.ElementLength());
      if (idArray.TypedArrayType() == napi_float64_array) {
        const double* raw = cb[0].As<Napi::Float64Array>().Data();
        for (size_t i = 0; i < ids.size(); ++i) {
          if (!(raw[i] >= 0 && raw[i] <= kMaxSafeInteger) || std::floor(raw[i]) != raw[i]) {
            fail(env, "face ids must be non-negative safe integers");
          }
          ids[i] = static_cast<int64_t>(raw[i]);
        }
      } else if (idArray.TypedArrayType() == napi_bigint64_array) {
        const int64_t* raw = cb[0].As<Napi::TypedArrayOf<int64_t>>().Data();
        ids.assign(raw, raw + ids.size());
      } else {
        fail(env, "ids must be a Float64Array or BigInt64Array");
      }
      if (!cb[1].IsTypedArray() || cb[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        fail(env, "embeddings must be a Float32Array");
      }
      const auto embeddings = cb[1].As<Napi::Float32Array>();
      if (embeddings.ElementLength() != ids.size() * matcher::kDims) {
        fail(env, "embeddings must hold ids.length * 512 values");
      }
      index_->addBatch(ids.data(), embeddings.Data(), ids.size());
      return env.Undefined();
    });
  }

  Napi::Value reserve(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    return guarded(env, [&]() -> Napi::Value {
      const double count = cb[0].IsNumber() ? cb[0].As<Napi::Number>().DoubleValue() : -1;
      if (!(count >= 0 && count <= static_cast<double>(matcher::kMaxTemplates)) || std::floor(count) != count) {
        fail(env, "reserve(count) takes an integer within 0..268435456");
      }
      index_->reserve(static_cast<size_t>(count));
      return env.Undefined();
    });
  }

  Napi::Value remove(const Napi::CallbackInfo& cb) {
    return guarded(cb.Env(),
                   [&]() -> Napi::Value { return Napi::Boolean::New(cb.Env(), index_->remove(faceId(cb[0]))); });
  }

  Napi::Value has(const Napi::CallbackInfo& cb) {
    return guarded(cb.Env(),
                   [&]() -> Napi::Value { return Napi::Boolean::New(cb.Env(), index_->contains(faceId(cb[0]))); });
  }

  Napi::Value clear(const Napi::CallbackInfo& cb) {
    return guarded(cb.Env(), [&]() -> Napi::Value {
      index_->clear();
      return cb.Env().Undefined();
    });
  }

  Napi::Value size(const Napi::CallbackInfo& cb) {
    return Napi::Number::New(cb.Env(), static_cast<double>(index_->size()));
  }

  Napi::Value memoryBytes(const Napi::CallbackInfo& cb) {
    return Napi::Number::New(cb.Env(), static_cast<double>(index_->memoryBytes()));
  }

  Napi::Value bytesPerTemplate(const Napi::CallbackInfo& cb) {
    return Napi::Number::New(cb.Env(), index_->bytesPerTemplate());
  }

  // Runs on the calling (JS) thread: for small collections, where a thread hop costs more than the scan.
  Napi::Value search(const Napi::CallbackInfo& cb) {
    return guarded(cb.Env(), [&]() -> Napi::Value {
      const float* query = embedding(cb[0], "query");
      return matchesToJs(cb.Env(), index_->search(query, searchOptions(cb[1])));
    });
  }

  Napi::Value searchAsync(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    return guarded(env, [&]() -> Napi::Value {
      const float* query = embedding(cb[0], "query");
      auto job = std::make_unique<SearchJob>(index_, std::vector<float>(query, query + matcher::kDims),
                                             searchOptions(cb[1]), Napi::Promise::Deferred::New(env));
      const Napi::Promise promise = job->deferred.Promise();
      auto noop = Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
      auto done = Napi::ThreadSafeFunction::New(env, noop, "faceserver.matcher.search", 0, 1);
      SearchJob* raw = job.get();
      try {
        searchQueue().post([raw, done]() mutable {
          raw->run();
          if (done.BlockingCall(raw, &SearchJob::settle) != napi_ok) delete raw;
          done.Release();
        });
      } catch (...) {
        done.Release();
        throw;  // job still owned here: freed on the way out
      }
      job.release();  // the queued task owns it now
      return promise;
    });
  }

  std::shared_ptr<TemplateIndex> index_;
};

Napi::Value matcherKernels(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("best", matcher::kernelPathName(matcher::bestKernelPath()));
  Napi::Array available = Napi::Array::New(env);
  uint32_t i = 0;
  for (auto path : {matcher::KernelPath::Scalar, matcher::KernelPath::Avx2, matcher::KernelPath::Avx512}) {
    if (matcher::cpuSupports(path)) available.Set(i++, matcher::kernelPathName(path));
  }
  result.Set("available", available);
  return result;
}

// measureReadBandwidth(bytes, repeats): single-core streaming read, GB/s (1e9 bytes). Blocks the caller:
// for benchmarks and diagnostics only.
Napi::Value measureReadBandwidth(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!cb[0].IsNumber() || !cb[1].IsNumber()) fail(env, "measureReadBandwidth(bytes, repeats) takes two numbers");
    const double bytes = cb[0].As<Napi::Number>().DoubleValue();
    const double repeats = cb[1].As<Napi::Number>().DoubleValue();
    if (!(bytes >= 0 && bytes <= 1e12) || !(repeats >= 0 && repeats <= 1000))
      fail(env, "bytes or repeats out of range");
    const auto r = matcher::measureReadBandwidth(static_cast<size_t>(bytes), static_cast<int>(repeats));
    Napi::Object result = Napi::Object::New(env);
    result.Set("gbPerSecond", r.gbPerSecond);
    result.Set("bytes", static_cast<double>(r.bytes));
    result.Set("repeats", r.repeats);
    return result;
  });
}

}  // namespace

void registerMatcher(Napi::Env env, Napi::Object exports) {
  exports.Set("MatcherIndex", MatcherIndexWrap::define(env));
  exports.Set("matcherKernels", Napi::Function::New(env, matcherKernels, "matcherKernels"));
  exports.Set("measureReadBandwidth", Napi::Function::New(env, measureReadBandwidth, "measureReadBandwidth"));
}

}  // namespace faceserver::binding
