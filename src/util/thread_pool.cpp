#include "util/thread_pool.h"

#include <chrono>
#include <map>
#include <string>
#include <system_error>

#include "util/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace iciia {

namespace {

// How long an idle worker keeps polling before it sleeps. A backbone's next
// layer follows within microseconds; a sleeping worker costs a futex wake-up
// (tens of microseconds in a browser) when the next loop starts.
constexpr auto kSpin = std::chrono::microseconds(300);

thread_local bool t_in_task = false;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads < 1 || threads > kMaxThreads)
    throw Error(ErrorCode::kInvalidArgument,
                "ThreadPool: threads " + std::to_string(threads) + " outside [1, " + std::to_string(kMaxThreads) + "]");
  blocks_ = std::make_unique<Block[]>(threads);
  try {
    for (int w = 1; w < threads; ++w) workers_.emplace_back([this, w] { worker_loop(w); });
  } catch (const std::system_error& e) {
    const int made = static_cast<int>(workers_.size());
    stop_.store(true);
    {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    throw Error(ErrorCode::kUnsupported, "ThreadPool: could not start thread " + std::to_string(made + 1) + " of " +
                                             std::to_string(threads) + " (" + e.what() +
                                             "); this build or platform offers fewer threads");
  }
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

std::shared_ptr<ThreadPool> ThreadPool::shared(int threads) {
  if (threads == 1) return nullptr;
  // Kept for the life of the process, idle workers asleep: a page's thread
  // must not join threads (it would block where browsers forbid it), and the
  // next engine reuses the workers instead of starting others.
  static std::mutex mutex;
  static std::map<int, std::shared_ptr<ThreadPool>> pools;
  std::lock_guard<std::mutex> lock(mutex);
  auto& pool = pools[threads];
  if (!pool) pool = std::make_shared<ThreadPool>(threads);
  return pool;
}

void ThreadPool::take_tasks(int worker) {
  t_in_task = true;
  const int n = threads();
  for (int k = 0; k < n; ++k) {
    Block& b = blocks_[(worker + k) % n];  // its own block first
    for (int i; (i = b.next.fetch_add(1, std::memory_order_relaxed)) < b.end;) {
      if (failed_.load(std::memory_order_relaxed)) continue;  // skip the rest once one failed
      try {
        call_(fn_, i, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
        failed_.store(true, std::memory_order_relaxed);
      }
    }
  }
  t_in_task = false;
}

void ThreadPool::worker_loop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    // Poll for the next loop, then sleep until it comes.
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    bool found = false;
    for (int polls = 0;; ++polls) {
      if (generation_.load(std::memory_order_acquire) != seen || stop_.load(std::memory_order_relaxed)) {
        found = true;
        break;
      }
      cpu_relax();
      if ((polls & 63) == 63 && std::chrono::steady_clock::now() >= spin_until) break;
    }
    if (!found) {
      std::unique_lock<std::mutex> lock(sleep_mutex_);
      wake_.wait(lock, [&] {
        return generation_.load(std::memory_order_acquire) != seen || stop_.load(std::memory_order_relaxed);
      });
    }
    if (stop_.load(std::memory_order_relaxed)) return;
    seen = generation_.load(std::memory_order_acquire);
    take_tasks(worker);
    busy_workers_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run_erased(int tasks, void* fn, Call call) {
  if (tasks <= 0) return;
  std::unique_lock<std::mutex> lock(run_mutex_, std::defer_lock);
  if (workers_.empty() || tasks == 1 || t_in_task || !lock.try_lock()) {
    for (int i = 0; i < tasks; ++i) call(fn, i, 0);
    return;
  }
  fn_ = fn;
  call_ = call;
  const int n = threads();
  for (int w = 0; w < n; ++w) {
    blocks_[w].next.store(static_cast<int>(static_cast<int64_t>(tasks) * w / n), std::memory_order_relaxed);
    blocks_[w].end = static_cast<int>(static_cast<int64_t>(tasks) * (w + 1) / n);
  }
  error_ = nullptr;
  failed_.store(false, std::memory_order_relaxed);
  busy_workers_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  {
    // Taking the lock orders the bump before a worker's last check under it,
    // so no sleeper misses the notification.
    std::lock_guard<std::mutex> sleep_lock(sleep_mutex_);
  }
  wake_.notify_all();
  take_tasks(0);
  // Every worker reports once per loop, whether or not it found a task: only
  // then may the next loop overwrite the fields above.
  while (busy_workers_.load(std::memory_order_acquire) != 0) cpu_relax();
  if (error_) std::rethrow_exception(error_);
}

}  // namespace iciia
