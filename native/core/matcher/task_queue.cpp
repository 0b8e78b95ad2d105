#include "task_queue.h"

#include "errors.h"
#include "thread_name.h"

namespace faceserver::matcher {

TaskQueue::TaskQueue(size_t maxPending)
    : maxPending_(maxPending), thread_([this] {
        nameThisThread("fs-matcher");
        loop();
      }) {}

TaskQueue::~TaskQueue() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void TaskQueue::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (jobs_.size() >= maxPending_) throw EngineError(ErrorCode::Busy, "too many searches waiting");
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void TaskQueue::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace faceserver::matcher
