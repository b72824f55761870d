#include "util/thread_pool.h"

#include <chrono>
#include <map>
#include <string>
#include <system_error>
#include <thread>

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

// One poll of a spin loop. Natively it also yields: on the project's VM a
// thread woken after 100 ms idle often lands on the waker's CPU, and for the
// next ~10 ms the two threads take turns on it; a spinning thread then burns
// the time the other needs (iciia_bench_thread_pool after 100 ms pauses:
// 0.85-0.98x of one thread without yielding, 1.00x with; back to back
// unchanged). Not in WebAssembly: there sched_yield does nothing useful and
// a spin loop must not leave wasm.
void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
#if !defined(__EMSCRIPTEN__)
  std::this_thread::yield();
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
  // This function never returns, and V8 keeps running a wasm function in the
  // tier it was entered in (there is no on-stack replacement for wasm): what
  // it did inline would run as baseline code for the life of the page. So
  // each loop is a call, which reaches the optimised code once it exists.
  uint64_t seen = 0;  // the last loop this worker looked at
  while (serve_next_loop(worker, seen)) {
  }
}

bool ThreadPool::serve_next_loop(int worker, uint64_t& seen) {
  // Poll for the next loop, then sleep until it comes.
  auto arrived = [&] {
    return (gate_.load(std::memory_order_acquire) >> kGenerationShift) != seen || stop_.load(std::memory_order_relaxed);
  };
  const auto spin_until = std::chrono::steady_clock::now() + kSpin;
  bool found = false;
  for (int polls = 0;; ++polls) {
    if (arrived()) {
      found = true;
      break;
    }
    cpu_relax();
    if ((polls & 63) == 63 && std::chrono::steady_clock::now() >= spin_until) break;
  }
  if (!found) {
    std::unique_lock<std::mutex> lock(sleep_mutex_);
    wake_.wait(lock, arrived);
  }
  if (stop_.load(std::memory_order_relaxed)) return false;
  // Join the loop while it is open; one that closed (the caller took every
  // task while this worker was waking) is none of its business.
  uint64_t gate = gate_.load(std::memory_order_acquire);
  seen = gate >> kGenerationShift;
  while ((gate & kOpen) && (gate >> kGenerationShift) == seen) {
    if (gate_.compare_exchange_weak(gate, gate + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      take_tasks(worker);
      finished_.fetch_add(1, std::memory_order_release);
      break;
    }
  }
  return true;
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
  finished_.store(0, std::memory_order_relaxed);
  // Open the loop (release: the fields above are set before a worker can join).
  // Only the caller changes the generation bits, and no worker is in a loop
  // now, so the gate holds the last loop's generation, closed.
  const uint64_t generation = (gate_.load(std::memory_order_relaxed) >> kGenerationShift) + 1;
  gate_.store((generation << kGenerationShift) | kOpen, std::memory_order_release);
  {
    // Taking the lock orders the store before a worker's last check under it,
    // so no sleeper misses the notification.
    std::lock_guard<std::mutex> sleep_lock(sleep_mutex_);
  }
  wake_.notify_all();
  take_tasks(0);
  // Every task has been taken: close the loop and wait only for the workers
  // that joined it. A worker still waking up (a sleeping thread can take
  // milliseconds on a busy machine) finds the loop closed and is not waited
  // for; the caller has done its share.
  const int joined = static_cast<int>(gate_.fetch_and(~kOpen, std::memory_order_acq_rel) & kJoinedMask);
  while (finished_.load(std::memory_order_acquire) != joined) cpu_relax();
  if (error_) std::rethrow_exception(error_);
}

}  // namespace iciia
