// The Engine class for JS: a pool of native worker threads, each with its own Pipeline (all nets of one
// worker). Every call returns a Promise that a worker settles through one thread-safe function per engine,
// so neither the event loop nor libuv's thread pool ever waits on inference.
//
//   const native = new addon.Engine({ modelsDir, workers, queueSize, backend, limits, maskWeights, opencvThreads });
//   await native.ready();                        // rejects with MODEL_LOAD naming the file
//   await native.analyze(buffer, { detectFaces, minScore, maxFaces, minFaceSize, template, attributes, cropSize });
//   native.info(); await native.close();
//   addon.templateFromEmbedding(f32) / embeddingFromTemplate(buf) / int8Code(f32) / signCode(f32)
//
// Errors are JS Errors with .code = errorCodeName(code) (INVALID_ARGUMENT, CORRUPT_IMAGE, BUSY, ...).
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <opencv2/core/utils/logger.hpp>
#include <string>
#include <thread>
#include <vector>

#include "attributes_js.h"
#include "bindings.h"
#include "errors.h"
#include "js_errors.h"
#include "options.h"
#include "pipeline.h"
#include "runtime_info.h"
#include "template_codec.h"
#include "worker_pool.h"

namespace faceserver::binding {

namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw EngineError(ErrorCode::InvalidArgument, message);
}

// ---- option parsing (JS thread) ----

Napi::Object objectArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (info.Length() <= index || info[index].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[index].IsObject()) invalid(std::string(what) + " must be an object");
  return info[index].As<Napi::Object>();
}

struct EngineOptions {
  std::string modelsDir;
  std::string maskWeights;
  int workers = 1;
  int openCvThreads = 0;  // 0 = cores / workers
  size_t queueSize = 64;
  Backend backend = Backend::Cpu;
  ImageLimits limits;
};

EngineOptions parseEngineOptions(const Napi::Object& o) {
  EngineOptions opts;
  const Napi::Value dir = o.Get("modelsDir");
  if (!dir.IsString() || dir.As<Napi::String>().Utf8Value().empty()) invalid("modelsDir must be a folder path");
  opts.modelsDir = dir.As<Napi::String>().Utf8Value();
  const Napi::Value mask = o.Get("maskWeights");
  if (mask.IsString()) opts.maskWeights = mask.As<Napi::String>().Utf8Value();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  opts.workers = static_cast<int>(integerOption(o, "workers", cores, 1, 64));
  opts.queueSize = static_cast<size_t>(integerOption(o, "queueSize", 64, 1, 1'000'000));
  opts.openCvThreads = static_cast<int>(integerOption(o, "opencvThreads", 0, 0, 64));
  const Napi::Value backend = o.Get("backend");
  if (!backend.IsUndefined()) {
    const std::string name = backend.IsString() ? backend.As<Napi::String>().Utf8Value() : "";
    if (name == "cuda")
      opts.backend = Backend::Cuda;
    else if (name != "cpu")
      invalid("backend must be 'cpu' or 'cuda'");
  }
  const Napi::Value limits = o.Get("limits");
  if (!limits.IsUndefined()) {
    if (!limits.IsObject()) invalid("limits must be an object");
    const Napi::Object l = limits.As<Napi::Object>();
    ImageLimits& d = opts.limits;
    d.maxBytes = static_cast<size_t>(integerOption(l, "maxBytes", static_cast<int64_t>(d.maxBytes), 1, 1 << 30));
    d.maxWidth = integerOption(l, "maxWidth", d.maxWidth, 1, 100'000);
    d.maxHeight = integerOption(l, "maxHeight", d.maxHeight, 1, 100'000);
    d.maxPixels = integerOption(l, "maxPixels", d.maxPixels, 1, 400'000'000);
  }
  return opts;
}

unsigned parseAttributes(const Napi::Object& o) {
  const Napi::Value v = o.Get("attributes");
  if (v.IsUndefined() || v.IsNull()) return 0;
  if (!v.IsArray()) invalid("attributes must be an array of names");
  const Napi::Array names = v.As<Napi::Array>();
  unsigned mask = 0;
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const Napi::Value name = names.Get(i);
    const unsigned bit = name.IsString() ? parseAttribute(name.As<Napi::String>().Utf8Value()) : 0;
    if (bit == 0) invalid("unknown attribute: " + (name.IsString() ? name.As<Napi::String>().Utf8Value() : "?"));
    mask |= bit;
  }
  return mask;
}

std::vector<float> embeddingArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    invalid("expected a Float32Array embedding");
  const Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

// ---- results to JS (JS thread) ----

Napi::Array point(Napi::Env env, const cv::Point2f& p) {
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, p.x));
  a.Set(1u, Napi::Number::New(env, p.y));
  return a;
}

Napi::Float32Array float32Array(Napi::Env env, const std::vector<float>& values) {
  Napi::Float32Array a = Napi::Float32Array::New(env, values.size());
  std::copy(values.begin(), values.end(), a.Data());
  return a;
}

Napi::Object faceToJs(Napi::Env env, const FaceAnalysis& analysis, unsigned attributes) {
  const Face& face = analysis.face;
  Napi::Object out = Napi::Object::New(env);
  Napi::Object box = Napi::Object::New(env);
  box.Set("x", face.box.x);
  box.Set("y", face.box.y);
  box.Set("width", face.box.width);
  box.Set("height", face.box.height);
  out.Set("box", box);
  out.Set("score", face.score);
  if (face.hasLandmarks) {
    Napi::Array landmarks = Napi::Array::New(env, face.landmarks.size());
    for (uint32_t i = 0; i < face.landmarks.size(); ++i) landmarks.Set(i, point(env, face.landmarks[i]));
    out.Set("landmarks68", landmarks);
    const auto five = alignmentPoints(face);
    Napi::Array alignment = Napi::Array::New(env, five.size());
    for (uint32_t i = 0; i < five.size(); ++i) alignment.Set(i, point(env, five[i]));
    out.Set("landmarks5", alignment);
    Napi::Object keypoints = Napi::Object::New(env);
    for (const auto& k : namedKeypoints(face)) keypoints.Set(k.name, point(env, k.point));
    out.Set("keypoints", keypoints);
  }
  if (!analysis.embedding.empty()) {
    out.Set("embedding", float32Array(env, analysis.embedding));
    const std::vector<uint8_t> bytes = encodeTemplate(analysis.embedding);
    out.Set("template", Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size()));
  }
  if (attributes != 0) out.Set("attributes", attributesToJs(env, analysis.attributes));
  if (!analysis.crop.empty())
    out.Set("crop", Napi::Buffer<uint8_t>::Copy(env, analysis.crop.data(), analysis.crop.size()));
  return out;
}

Napi::Object analysisToJs(Napi::Env env, const AnalyzeResult& result, unsigned attributes) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("width", result.width);
  out.Set("height", result.height);
  Napi::Array faces = Napi::Array::New(env, result.faces.size());
  for (uint32_t i = 0; i < result.faces.size(); ++i) faces.Set(i, faceToJs(env, result.faces[i], attributes));
  out.Set("faces", faces);
  Napi::Object timings = Napi::Object::New(env);
  for (const auto& [stage, ms] : result.timings.ms) timings.Set(stage, ms);
  out.Set("timings", timings);
  return out;
}

// ---- the engine ----

// The outcome of one native job, carried to the JS thread.
struct Completion {
  Napi::Promise::Deferred deferred;
  std::function<Napi::Value(Napi::Env)> toJs;  // success
  bool failed = false;
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  bool closes = false;  // the last completion of a closed engine: release the thread-safe function

  void fail(ErrorCode c, std::string m) {
    failed = true;
    code = c;
    message = std::move(m);
  }
  // Records whatever the current exception is.
  void failFromCurrentException() {
    try {
      throw;
    } catch (const EngineError& e) {
      fail(e.code(), e.what());
    } catch (const std::exception& e) {
      fail(ErrorCode::Internal, e.what());
    } catch (...) {
      fail(ErrorCode::Internal, "unknown native error");
    }
  }
};

struct EngineState;
// The thread-safe function's context: keeps the state alive until every completion has been delivered.
struct StateHolder {
  std::shared_ptr<EngineState> state;
};
void deliver(Napi::Env env, Napi::Function, StateHolder* holder, Completion* completion);
using CompletionQueue = Napi::TypedThreadSafeFunction<StateHolder, Completion, deliver>;

// Everything the worker threads touch. Shared by the JS object, the thread-safe function and a closing
// thread; whoever lets go last stops the pool, which is never a worker thread.
struct EngineState {
  EngineOptions options;
  BackendChoice backend;
  int openCvThreads = 0;
  CompletionQueue completions;
  std::unique_ptr<WorkerPool<Pipeline>> pool;  // declared last: destroyed (joined) first
  int inFlight = 0;     // JS thread only: the thread-safe function keeps the process alive only while > 0
  bool closed = false;  // JS thread only

  void begin(Napi::Env env) {
    if (inFlight++ == 0) completions.Ref(env);
  }
  void end(Napi::Env env) {
    if (--inFlight == 0) completions.Unref(env);
  }
  // From any thread.
  void post(Completion* c) {
    CompletionQueue queue = completions;
    if (queue.NonBlockingCall(c) != napi_ok) delete c;  // only when Node is shutting down
  }
};

void deliver(Napi::Env env, Napi::Function, StateHolder* holder, Completion* completion) {
  std::unique_ptr<Completion> c(completion);
  if (env == nullptr) return;  // environment torn down
  Napi::HandleScope scope(env);
  try {
    if (c->failed)
      c->deferred.Reject(jsError(env, c->code, c->message).Value());
    else
      c->deferred.Resolve(c->toJs ? c->toJs(env) : env.Undefined());
  } catch (const Napi::Error& e) {
    c->deferred.Reject(e.Value());
  } catch (const std::exception& e) {
    c->deferred.Reject(jsError(env, ErrorCode::Internal, e.what()).Value());
  }
  holder->state->end(env);
  if (c->closes) holder->state->completions.Release();
}

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod<&EngineWrap::ready>("ready"), InstanceMethod<&EngineWrap::analyze>("analyze"),
                        InstanceMethod<&EngineWrap::info>("info"), InstanceMethod<&EngineWrap::close>("close")});
  }

  explicit EngineWrap(const Napi::CallbackInfo& cb) : Napi::ObjectWrap<EngineWrap>(cb) {
    Napi::Env env = cb.Env();
    guarded(env, [&] {
      auto state = std::make_shared<EngineState>();
      state->options = parseEngineOptions(objectArg(cb, 0, "options"));
      const OpenCvInfo cv = openCvInfo();
      state->backend = chooseBackend(state->options.backend, cv.cudaBackend, cv.cudaDevices);
      cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);  // no per-image decoder warnings
      state->openCvThreads =
          state->options.openCvThreads > 0 ? state->options.openCvThreads : shareOpenCvThreads(state->options.workers);
      if (state->options.openCvThreads > 0) cv::setNumThreads(state->options.openCvThreads);
      state->completions =
          CompletionQueue::New(env, Napi::Function(), "faceserver-engine", 0, 1, new StateHolder{state},
                               [](Napi::Env, void*, StateHolder* h) { delete h; });
      state->completions.Unref(env);
      state_ = state;

      readyDeferred_ = std::make_unique<Napi::Promise::Deferred>(env);
      state->begin(env);
      EngineState* s = state.get();
      auto* ready = new Completion{*readyDeferred_, {}, false, ErrorCode::Internal, "", false};
      const EngineOptions& o = s->options;
      s->pool = std::make_unique<WorkerPool<Pipeline>>(
          o.workers, o.queueSize,
          [s] {
            return std::make_unique<Pipeline>(ModelPaths{s->options.modelsDir}, s->backend.used, s->options.limits,
                                              s->options.maskWeights);
          },
          [s, ready](std::exception_ptr failure) {
            if (failure) {
              try {
                std::rethrow_exception(failure);
              } catch (...) {
                ready->failFromCurrentException();
              }
            }
            s->post(ready);
          },
          "fs-engine");
      return env.Undefined();
    });
  }

  ~EngineWrap() override {
    // Collected without close(): stop the workers here; queued completions are still delivered.
    if (state_ && state_->pool && !state_->closed) {
      state_->closed = true;
      state_->pool->stop();
      state_->completions.Release();
    }
  }

 private:
  Napi::Value ready(const Napi::CallbackInfo& cb) { return readyDeferred_->Promise(); }

  Napi::Value analyze(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    try {
      if (state_->closed) throw EngineError(ErrorCode::InvalidArgument, "the engine is closed");
      if (cb.Length() < 1 || !cb[0].IsBuffer()) invalid("image must be a Buffer");
      const Napi::Buffer<uint8_t> image = cb[0].As<Napi::Buffer<uint8_t>>();
      state_->options.limits.checkBytes(image.Length());  // before copying it
      const Napi::Object o = objectArg(cb, 1, "options");
      auto request = std::make_shared<AnalyzeRequest>();
      request->detectFaces = boolOption(o, "detectFaces", true);
      request->detect.minScore = static_cast<float>(numberOption(o, "minScore", 0.6, 0, 1));
      request->detect.maxFaces = static_cast<int>(integerOption(o, "maxFaces", 0, 0, 10'000));
      request->detect.minFaceSize = static_cast<int>(integerOption(o, "minFaceSize", 40, 1, 100'000));
      request->embed = boolOption(o, "template", false);
      request->attributes = parseAttributes(o);
      request->cropSize = static_cast<int>(integerOption(o, "cropSize", 0, 0, 1024));
      request->image.assign(image.Data(), image.Data() + image.Length());

      EngineState* s = state_.get();
      const unsigned attributes = request->attributes;
      auto* completion = new Completion{deferred, {}, false, ErrorCode::Internal, "", false};
      s->begin(env);
      try {
        s->pool->submit([s, request, completion, attributes](Pipeline& pipeline) {
          try {
            auto result = std::make_shared<AnalyzeResult>(pipeline.analyze(*request));
            completion->toJs = [result, attributes](Napi::Env e) { return analysisToJs(e, *result, attributes); };
          } catch (...) {
            completion->failFromCurrentException();
          }
          s->post(completion);
        });
      } catch (...) {
        delete completion;
        s->end(env);
        throw;
      }
    } catch (const EngineError& e) {
      deferred.Reject(jsError(env, e.code(), e.what()).Value());
    } catch (const Napi::Error& e) {
      deferred.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred.Reject(jsError(env, ErrorCode::Internal, e.what()).Value());
    }
    return deferred.Promise();
  }

  Napi::Value info(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    return guarded(env, [&]() -> Napi::Value {
      const EngineOptions& o = state_->options;
      Napi::Object out = Napi::Object::New(env);
      out.Set("workers", o.workers);
      out.Set("queueSize", static_cast<double>(o.queueSize));
      out.Set("queued", static_cast<double>(state_->pool->queued()));
      out.Set("opencvThreads", state_->openCvThreads);
      Napi::Object backend = Napi::Object::New(env);
      backend.Set("requested", backendName(o.backend));
      backend.Set("used", backendName(state_->backend.used));
      if (!state_->backend.fallbackReason.empty()) backend.Set("fallbackReason", state_->backend.fallbackReason);
      out.Set("backend", backend);
      Napi::Object limits = Napi::Object::New(env);
      limits.Set("maxBytes", static_cast<double>(o.limits.maxBytes));
      limits.Set("maxWidth", static_cast<double>(o.limits.maxWidth));
      limits.Set("maxHeight", static_cast<double>(o.limits.maxHeight));
      limits.Set("maxPixels", static_cast<double>(o.limits.maxPixels));
      out.Set("limits", limits);
      const auto files = pipelineModelFiles(ModelPaths{o.modelsDir});
      Napi::Array models = Napi::Array::New(env, files.size());
      for (uint32_t i = 0; i < files.size(); ++i) {
        Napi::Object m = Napi::Object::New(env);
        m.Set("name", files[i].name);
        m.Set("file", files[i].path);
        m.Set("bytes", static_cast<double>(files[i].bytes));
        models.Set(i, m);
      }
      out.Set("models", models);
      return out;
    });
  }

  Napi::Value close(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    if (state_->closed) {
      deferred.Resolve(env.Undefined());
      return deferred.Promise();
    }
    state_->closed = true;
    std::shared_ptr<EngineState> s = state_;
    auto* done = new Completion{deferred, {}, false, ErrorCode::Internal, "", true};
    s->begin(env);
    // Joining the workers waits for the jobs already queued: do it off the JS thread.
    std::thread([s, done] {
      s->pool->stop();
      s->post(done);
    }).detach();
    return deferred.Promise();
  }

  std::shared_ptr<EngineState> state_;
  std::unique_ptr<Napi::Promise::Deferred> readyDeferred_;
};

// ---- template helpers (synchronous: microseconds) ----

Napi::Value templateFromEmbedding(const Napi::CallbackInfo& cb) {
  return guarded(cb.Env(), [&]() -> Napi::Value {
    const std::vector<uint8_t> bytes = encodeTemplate(embeddingArg(cb));
    return Napi::Buffer<uint8_t>::Copy(cb.Env(), bytes.data(), bytes.size());
  });
}

Napi::Value embeddingFromTemplate(const Napi::CallbackInfo& cb) {
  return guarded(cb.Env(), [&]() -> Napi::Value {
    if (cb.Length() < 1 || !cb[0].IsTypedArray()) invalid("expected a template Buffer");
    const Napi::TypedArray t = cb[0].As<Napi::TypedArray>();
    if (t.TypedArrayType() != napi_uint8_array) invalid("expected a template Buffer");
    const Napi::Uint8Array bytes = t.As<Napi::Uint8Array>();
    return float32Array(cb.Env(), decodeTemplate(bytes.Data(), bytes.ElementLength()));
  });
}

Napi::Value int8CodeJs(const Napi::CallbackInfo& cb) {
  return guarded(cb.Env(), [&]() -> Napi::Value {
    const std::vector<int8_t> code = int8Code(embeddingArg(cb));
    Napi::Int8Array a = Napi::Int8Array::New(cb.Env(), code.size());
    std::copy(code.begin(), code.end(), a.Data());
    return a;
  });
}

Napi::Value signCodeJs(const Napi::CallbackInfo& cb) {
  return guarded(cb.Env(), [&]() -> Napi::Value {
    const std::vector<uint8_t> bits = signCode(embeddingArg(cb));
    return Napi::Buffer<uint8_t>::Copy(cb.Env(), bits.data(), bits.size());
  });
}

}  // namespace

void registerEngine(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", EngineWrap::define(env));
  exports.Set("templateFromEmbedding", Napi::Function::New(env, templateFromEmbedding, "templateFromEmbedding"));
  exports.Set("embeddingFromTemplate", Napi::Function::New(env, embeddingFromTemplate, "embeddingFromTemplate"));
  exports.Set("int8Code", Napi::Function::New(env, int8CodeJs, "int8Code"));
  exports.Set("signCode", Napi::Function::New(env, signCodeJs, "signCode"));
}

}  // namespace faceserver::binding
