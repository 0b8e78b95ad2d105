// detectBodies(image: Buffer, options?: {minScore?: number, maxPixels?: number})
//   -> Promise<[{x, y, width, height, score}]>  (pixels of the oriented image; best score first)
// Image limits are the decoder's defaults (ImageLimits), with maxPixels adjustable up to kMaxPixelsCap.
// OpenCV's HOG people detector (native/core/bodies.h). One call costs ~0.05-1.5 s, so it runs on a native
// thread of its own (WorkerPool with one worker and a queue of kQueueSize; BUSY when full) and completes
// through a thread-safe function: neither the event loop nor libuv's thread pool ever waits on it.
// Errors are JS Errors with .code = errorCodeName(code).
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "bodies.h"
#include "errors.h"
#include "image/image_decoder.h"
#include "js_errors.h"
#include "options.h"
#include "worker_pool.h"

namespace faceserver::binding {

namespace {

constexpr size_t kQueueSize = 16;
constexpr int64_t kMaxPixelsCap = 50'000'000;

// One finished job, carried to the JS thread.
struct BodyJob {
  Napi::Promise::Deferred deferred;
  std::vector<uint8_t> image;
  float minScore = 0.5f;
  ImageLimits limits;
  std::vector<Body> bodies;
  bool failed = false;
  ErrorCode code = ErrorCode::Internal;
  std::string message;
};

struct BodyService;
void deliver(Napi::Env env, Napi::Function, BodyService* service, BodyJob* job);
using Completions = Napi::TypedThreadSafeFunction<BodyService, BodyJob, deliver>;

// Per JS environment (main thread or a worker_thread): the detector thread and the way back to JS.
struct BodyService {
  Completions completions;
  std::unique_ptr<WorkerPool<BodyDetector>> pool;
  int inFlight = 0;  // JS thread only; the thread-safe function keeps Node alive only while jobs are out

  void run(BodyDetector& detector, BodyJob* job) {
    try {
      const DecodedImage decoded = decodeImage(job->image.data(), job->image.size(), job->limits);
      job->image.clear();
      job->bodies = detector.detect(decoded.bgr, job->minScore);
    } catch (const EngineError& e) {
      job->failed = true, job->code = e.code(), job->message = e.what();
    } catch (const std::exception& e) {
      job->failed = true, job->message = e.what();
    } catch (...) {
      job->failed = true, job->message = "unknown native error";
    }
    if (completions.NonBlockingCall(job) != napi_ok) delete job;  // only while Node shuts down
  }
};

void deliver(Napi::Env env, Napi::Function, BodyService* service, BodyJob* raw) {
  std::unique_ptr<BodyJob> job(raw);
  if (env == nullptr) return;
  Napi::HandleScope scope(env);
  if (--service->inFlight == 0) service->completions.Unref(env);
  if (job->failed) {
    job->deferred.Reject(jsError(env, job->code, job->message).Value());
    return;
  }
  Napi::Array out = Napi::Array::New(env, job->bodies.size());
  for (uint32_t i = 0; i < job->bodies.size(); ++i) {
    const Body& b = job->bodies[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("x", b.box.x);
    o.Set("y", b.box.y);
    o.Set("width", b.box.width);
    o.Set("height", b.box.height);
    o.Set("score", b.score);
    out.Set(i, o);
  }
  job->deferred.Resolve(out);
}

// Created on first use in each JS environment; torn down (thread joined) when that environment exits.
thread_local BodyService* service = nullptr;

BodyService& serviceFor(Napi::Env env) {
  if (service) return *service;
  auto* s = new BodyService();
  s->completions = Completions::New(env, Napi::Function(), "faceserver-bodies", 0, 1, s,
                                    [](Napi::Env, void*, BodyService* done) { delete done; });
  s->completions.Unref(env);
  s->pool = std::make_unique<WorkerPool<BodyDetector>>(
      1, kQueueSize, [] { return std::make_unique<BodyDetector>(); }, nullptr, "fs-bodies");
  env.AddCleanupHook([s] {
    s->pool->stop();  // finishes the queued jobs; their completions are dropped with the environment
    s->completions.Release();
    service = nullptr;
  });
  service = s;
  return *s;
}

Napi::Value detectBodiesJs(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  try {
    if (cb.Length() < 1 || !cb[0].IsBuffer()) throw EngineError(ErrorCode::InvalidArgument, "image must be a Buffer");
    const Napi::Buffer<uint8_t> image = cb[0].As<Napi::Buffer<uint8_t>>();
    float minScore = 0.5f;
    ImageLimits limits;
    if (cb.Length() > 1 && !cb[1].IsUndefined()) {
      if (!cb[1].IsObject()) throw EngineError(ErrorCode::InvalidArgument, "options must be an object");
      const Napi::Object o = cb[1].As<Napi::Object>();
      minScore = static_cast<float>(numberOption(o, "minScore", minScore, 0.0, 1.0));
      limits.maxPixels = integerOption(o, "maxPixels", limits.maxPixels, 1, kMaxPixelsCap);
    }
    limits.checkBytes(image.Length());  // before copying it
    BodyService& s = serviceFor(env);
    auto* job = new BodyJob{deferred,
                            std::vector<uint8_t>(image.Data(), image.Data() + image.Length()),
                            minScore,
                            limits,
                            {},
                            false,
                            ErrorCode::Internal,
                            ""};
    try {
      BodyService* sp = &s;
      s.pool->submit([sp, job](BodyDetector& detector) { sp->run(detector, job); });
    } catch (...) {
      delete job;
      throw;
    }
    if (s.inFlight++ == 0) s.completions.Ref(env);
  } catch (const EngineError& e) {
    deferred.Reject(jsError(env, e.code(), e.what()).Value());
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());
  } catch (const std::exception& e) {
    deferred.Reject(jsError(env, ErrorCode::Internal, e.what()).Value());
  }
  return deferred.Promise();
}

}  // namespace

void registerBodies(Napi::Env env, Napi::Object exports) {
  exports.Set("detectBodies", Napi::Function::New(env, detectBodiesJs, "detectBodies"));
}

}  // namespace faceserver::binding
