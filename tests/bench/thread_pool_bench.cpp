// The thread pool on a backbone-like sequence of loops (40 "layers" of 8
// tasks of 25 us of spinning, no memory traffic), after a pause of 0, 10 and
// 100 ms, against the same work inline on one thread, side by side in one
// process (each repetition runs both, after its own pause). Prints medians
// and the speed-up, and how many of the first layers the workers took no
// task of. Natively only: it shows the pool and the operating system's
// scheduling without the engine or V8 around them.
//
// Usage: iciia_bench_thread_pool [--threads N] [--reps N]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "util/thread_pool.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kLayers = 40, kTasks = 8, kTaskUs = 25;

void spin_for_us(int us) {
  const auto end = Clock::now() + std::chrono::microseconds(us);
  while (Clock::now() < end) {
  }
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 21;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: iciia_bench_thread_pool [--threads N] [--reps N]\n");
      return 2;
    }
  }
  if (threads < 2 || threads > iciia::ThreadPool::kMaxThreads || reps < 1) {
    std::fprintf(stderr, "--threads must be 2..%d and --reps >= 1\n", iciia::ThreadPool::kMaxThreads);
    return 2;
  }
  iciia::ThreadPool pool(threads);
  std::printf("%d layers of %d tasks of %d us; %d threads against inline; medians of %d repetitions\n\n", kLayers,
              kTasks, kTaskUs, threads, reps);
  std::printf("| pause before each run | inline ms | pool ms | speed-up | first layers the workers missed (median) |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  for (int gap_ms : {0, 10, 100}) {
    std::vector<double> inline_ms, pool_ms, missed;
    for (int r = 0; r < reps; ++r) {
      std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
      auto t0 = Clock::now();
      for (int l = 0; l < kLayers; ++l)
        for (int i = 0; i < kTasks; ++i) spin_for_us(kTaskUs);
      inline_ms.push_back(ms_since(t0));

      std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
      int first_shared = kLayers;
      t0 = Clock::now();
      for (int l = 0; l < kLayers; ++l) {
        std::atomic<int> by_workers{0};
        pool.run(kTasks, [&](int, int worker) {
          if (worker != 0) by_workers.fetch_add(1, std::memory_order_relaxed);
          spin_for_us(kTaskUs);
        });
        if (by_workers.load() > 0 && first_shared == kLayers) first_shared = l;
      }
      pool_ms.push_back(ms_since(t0));
      missed.push_back(first_shared);
    }
    const double a = iciia::bench::median(inline_ms), b = iciia::bench::median(pool_ms);
    std::printf("| %d ms | %.2f | %.2f | %.2fx | %.0f of %d |\n", gap_ms, a, b, a / b, iciia::bench::median(missed), kLayers);
  }
  return 0;
}
