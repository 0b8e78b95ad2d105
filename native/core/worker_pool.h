// A fixed set of native threads, each owning one State (for the engine: a Pipeline with its own nets), fed
// from one bounded queue. submit() never blocks: when the queue is full it throws EngineError(Busy) at once.
// Jobs complete by whatever means they carry (the binding posts to JS through a thread-safe function), so no
// libuv thread is ever used.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "errors.h"
#include "thread_name.h"

namespace faceserver {

template <class State>
class WorkerPool {
 public:
  using Factory = std::function<std::unique_ptr<State>()>;
  using Job = std::function<void(State&)>;  // must not throw; exceptions are swallowed to keep the worker alive
  // Called once, from a worker thread, after every worker has built its State: null, or the first failure.
  using ReadyCallback = std::function<void(std::exception_ptr)>;

  // Threads are named `<threadName>-<i>` (at most 15 characters in all on Linux).
  WorkerPool(int workers, size_t queueCapacity, Factory factory, ReadyCallback onReady,
             const std::string& threadName = "fs-worker")
      : capacity_(queueCapacity), pendingStarts_(workers), factory_(std::move(factory)), onReady_(std::move(onReady)) {
    if (workers < 1) throw EngineError(ErrorCode::InvalidArgument, "a pool needs at least one worker");
    for (int i = 0; i < workers; ++i) {
      const std::string name = threadName + "-" + std::to_string(i);
      threads_.emplace_back([this, name] {
        nameThisThread(name);
        run();
      });
    }
  }

  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(Job job) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw EngineError(ErrorCode::InvalidArgument, "the engine is closed");
    if (queue_.size() >= capacity_)
      throw EngineError(ErrorCode::Busy, "the engine queue is full (" + std::to_string(capacity_) + " waiting)");
    queue_.push_back(std::move(job));
    wake_.notify_one();
  }

  // Runs the jobs already queued, then joins every thread. Safe to call twice.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  size_t queued() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return queue_.size();
  }

 private:
  void run() {
    std::unique_ptr<State> state;
    std::exception_ptr failure;
    try {
      state = factory_();
    } catch (...) {
      failure = std::current_exception();
    }
    reportStarted(failure);
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      if (!state) continue;  // this worker failed to start: the engine never opened, drop the job
      try {
        job(*state);
      } catch (...) {
      }
    }
  }

  void reportStarted(std::exception_ptr failure) {
    bool last;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (failure && !firstFailure_) firstFailure_ = failure;
      last = --pendingStarts_ == 0;
      if (last) failure = firstFailure_;
    }
    if (last && onReady_) onReady_(failure);
  }

  const size_t capacity_;
  int pendingStarts_;
  Factory factory_;
  ReadyCallback onReady_;
  std::exception_ptr firstFailure_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace faceserver
