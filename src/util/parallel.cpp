// ParallelFor's thread pool: workers spin briefly for the next loop (kernels
// come in quick succession during a training step), then sleep.
#include "cortado/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace cortado {
namespace {

thread_local bool inside_parallel_region = false;

class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs task(k) for k in [0, tasks), tasks <= size(); caller runs task 0.
  void Run(int tasks, const std::function<void(int)>& task) {
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) {  // another thread is using the pool
      for (int k = 0; k < tasks; ++k) task(k);
      return;
    }
    task_ = &task;
    tasks_ = tasks;
    // Every worker acknowledges every loop, even one with no task for it, so
    // no worker can lag a loop behind and run the next one's task twice.
    pending_.store(static_cast<int>(workers_.size()));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    inside_parallel_region = true;
    task(0);
    inside_parallel_region = false;
    while (pending_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
    task_ = nullptr;
  }

 private:
  void WorkerLoop(int index) {
    inside_parallel_region = true;
    uint64_t seen = 0;
    while (true) {
      // Spin for a short while: the next kernel usually follows at once.
      const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      while (generation_.load(std::memory_order_acquire) == seen &&
             std::chrono::steady_clock::now() < spin_until) {
        std::this_thread::yield();
      }
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stopping_) return;
      if (index < tasks_) (*task_)(index);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  const std::function<void(int)>* task_ = nullptr;
  int tasks_ = 0;
  bool stopping_ = false;
};

ThreadPool& Pool() {
  static ThreadPool pool(NumThreads());
  return pool;
}

}  // namespace

int NumThreads() {
  static const int threads = [] {
    if (const char* env = std::getenv("CORTADO_NUM_THREADS")) {
      int n = std::atoi(env);
      if (n > 0) return n;
    }
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }();
  return threads;
}

void ParallelFor(int64_t begin, int64_t end, const std::function<void(int64_t, int64_t)>& body,
                 int64_t min_chunk) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  int64_t chunks = std::min<int64_t>(NumThreads(), n / std::max<int64_t>(1, min_chunk));
  if (chunks <= 1 || inside_parallel_region) {
    body(begin, end);
    return;
  }
  Pool().Run(static_cast<int>(chunks), [&](int k) {
    const int64_t lo = begin + n * k / chunks;
    const int64_t hi = begin + n * (k + 1) / chunks;
    if (lo < hi) body(lo, hi);
  });
}

}  // namespace cortado
