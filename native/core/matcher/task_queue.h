// One background thread running posted jobs in order: the addon's async searches run here, off the Node
// event loop and off libuv's shared thread pool. Bounded: post() throws Busy when `maxPending` are waiting.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace faceserver::matcher {

class TaskQueue {
 public:
  explicit TaskQueue(size_t maxPending);
  ~TaskQueue();
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  // Jobs must not throw (they report their own errors).
  void post(std::function<void()> job);

 private:
  void loop();

  size_t maxPending_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace faceserver::matcher
