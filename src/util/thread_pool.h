// A fixed set of worker threads that run one data-parallel loop at a time,
// the calling thread taking part.
//
// Built for the backbone's layer-by-layer loops: a MobileNet runs 60-100
// steps of 10 us to 1 ms each, back to back, so a loop must start and end in
// a few microseconds. Workers therefore spin on the loop counter for a while
// after each loop (the next layer's loop usually arrives within that time)
// and only then sleep on a condition variable. The caller never waits for a
// worker to wake: it starts on its own share at once and takes over what no
// worker has taken, and a loop waits only for the workers that joined it
// while it was open. A sleeping thread can take milliseconds to be scheduled
// again (measured on a 2-core VM after 30-100 ms idle); waiting for it made
// two threads slower than one for a call after a pause.
//
// The same code runs natively and in WebAssembly (Emscripten's pthreads over
// SharedArrayBuffer, whose workers must already exist when a thread is
// created: the module preloads as many as the pool needs). A build without
// threads can still make a pool of 1, which runs every loop inline.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace iciia {

class ThreadPool {
 public:
  // threads >= 1 counts the caller: threads - 1 workers are started. Throws
  // Error(kUnsupported) naming the count when the platform cannot start them
  // (a WebAssembly module built without threads, or with fewer preloaded
  // workers), Error(kInvalidArgument) for threads < 1 or > kMaxThreads.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  static constexpr int kMaxThreads = 64;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls task(i, worker) for every i in [0, tasks), spread over the
  // threads; returns when all have returned. worker is in [0, threads()),
  // 0 being the caller, and no two calls running at once share one, so a
  // task may use per-worker scratch. Thread w first runs the w-th contiguous
  // block of tasks, so consecutive loops over the same index space (layer
  // after layer of a backbone) find their data in that core's cache; then
  // it takes what is left of the others' blocks, so a loaded core just
  // finishes fewer. The first exception a task
  // throws is rethrown here once every task has finished or been skipped.
  // Nested calls (from inside a task) and calls while another thread is in
  // run() execute inline on the calling thread.
  template <class F>
  void run(int tasks, F&& task) {
    run_erased(tasks, &task, [](void* f, int i, int worker) { (*static_cast<F*>(f))(i, worker); });
  }

  // The pool of `threads` threads shared by everything in the process that
  // asks for that count (engines of one page share their workers instead of
  // multiplying them), kept until the process ends. Null for threads == 1:
  // callers run inline.
  static std::shared_ptr<ThreadPool> shared(int threads);

 private:
  using Call = void (*)(void*, int, int);
  void run_erased(int tasks, void* fn, Call call);
  void worker_loop(int worker);
  // One round of a worker: waits for a loop newer than `seen`, runs its
  // share if the loop is still open. False once the pool stops.
  [[gnu::noinline]] bool serve_next_loop(int worker, uint64_t& seen);
  void take_tasks(int worker);

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one loop at a time

  // The current loop. Written by the caller before it opens the loop (gate_,
  // release), read by workers once they joined it (acquire).
  void* fn_ = nullptr;
  Call call_ = nullptr;
  struct alignas(64) Block {
    std::atomic<int> next{0};
    int end = 0;
  };
  std::unique_ptr<Block[]> blocks_;  // one per thread
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
  std::mutex error_mutex_;
  // The current loop's generation (high bits), whether workers may still
  // join it (kOpen) and how many did (low bits). Workers join by
  // compare-and-swap while it is open; the caller closes it once every task
  // is taken and waits for the joined ones only (finished_).
  static constexpr int kGenerationShift = 16;
  static constexpr uint64_t kOpen = uint64_t{1} << 15;
  static constexpr uint64_t kJoinedMask = kOpen - 1;
  std::atomic<uint64_t> gate_{0};
  std::atomic<int> finished_{0};  // joined workers done with this loop
  std::atomic<bool> stop_{false};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
};

}  // namespace iciia
