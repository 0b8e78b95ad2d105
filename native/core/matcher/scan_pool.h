// A small fork-join pool for splitting one scan over several cores: run(tasks, fn) calls fn(0..tasks-1)
// on the pool's threads and the caller's, and returns when all are done. One run at a time (others wait),
// which is what a 2-core machine wants anyway.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace faceserver::matcher {

class ScanPool {
 public:
  explicit ScanPool(size_t workerThreads);
  ~ScanPool();
  ScanPool(const ScanPool&) = delete;
  ScanPool& operator=(const ScanPool&) = delete;

  // Threads a run can use, the caller included.
  size_t parallelism() const { return workers_.size() + 1; }
  // Rethrows the first exception a task threw.
  void run(size_t tasks, const std::function<void(size_t)>& fn);

  // The process-wide pool: one worker per extra core (at least one, so 2 threads can always be measured).
  static ScanPool& shared();

 private:
  void workerLoop();
  void drain(const std::function<void(size_t)>& fn, size_t tasks);

  std::vector<std::thread> workers_;
  std::mutex runMutex_;  // serialises run()
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t tasks_ = 0;
  std::atomic<size_t> next_{0};
  size_t pending_ = 0;  // tasks not yet finished
  size_t active_ = 0;   // workers inside the current run
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace faceserver::matcher
