#include "scan_pool.h"

#include <algorithm>
#include <string>

#include "thread_name.h"

namespace faceserver::matcher {

ScanPool::ScanPool(size_t workerThreads) {
  for (size_t i = 0; i < workerThreads; ++i)
    workers_.emplace_back([this, i] {
      nameThisThread("fs-scan-" + std::to_string(i));
      workerLoop();
    });
}

ScanPool::~ScanPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

ScanPool& ScanPool::shared() {
  const size_t cores = std::thread::hardware_concurrency();
  static ScanPool pool(cores > 1 ? cores - 1 : 1);
  return pool;
}

void ScanPool::drain(const std::function<void(size_t)>& fn, size_t tasks) {
  for (size_t i = next_.fetch_add(1); i < tasks; i = next_.fetch_add(1)) {
    try {
      fn(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_ == 0) done_.notify_all();
  }
}

void ScanPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(size_t)>* fn;
    size_t tasks;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      fn = fn_;
      tasks = tasks_;
      if (fn == nullptr) continue;  // woke after that run had already finished
      ++active_;
    }
    drain(*fn, tasks);
    std::lock_guard<std::mutex> lock(mutex_);
    if (--active_ == 0) done_.notify_all();
  }
}

void ScanPool::run(size_t tasks, const std::function<void(size_t)>& fn) {
  if (tasks == 0) return;
  std::lock_guard<std::mutex> runLock(runMutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    tasks_ = tasks;
    next_.store(0);
    pending_ = tasks;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  drain(fn, tasks);
  std::exception_ptr error;
  {
    // Wait for the tasks and for every worker to leave this run, so none can pick up the next run's
    // counter with this run's (then dangling) function.
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0 && active_ == 0; });
    fn_ = nullptr;
    error = error_;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace faceserver::matcher
