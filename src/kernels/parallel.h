// How a kernel spreads one call over the engine's threads: the pool (null:
// the caller alone) and where each worker's scratch starts. A kernel splits
// its output into independent ranges (rows of pixels, tiles, output columns)
// that are computed exactly as in one pass, so the result does not depend on
// the thread count, bit for bit (tests check it).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "util/thread_pool.h"

namespace iciia::kernels {

// Below this many multiply-adds a range is not worth handing to another
// thread: a hand-off costs a few microseconds, ~50k multiply-adds at the
// engine's single-thread rate.
constexpr int64_t kMinParallelMacs = 96 * 1024;

// Ranges a loop is cut into per thread (when kMinParallelMacs allows). A
// loop ends when its last range does, so the finer the cut, the less one
// thread idles at the end: at 4 per thread a 14x14 map in tiles of 4 made 7
// ranges of 28 pixels, and one of two threads did 4 of them. Measured with
// the pool timing each thread's share (native, 2 threads, 60 runs): the
// longest share minus the mean, summed over a run, fell from 0.63-0.99 to
// 0.30-0.36 ms on MobileNetV3-L (11-14 ms a run), 2.5-4.1 to 1.2-1.5 ms on
// ResNet-18, 0.65-0.94 to 0.28-0.37 ms on MobileNetV2; 32 per thread gained
// nothing more. A range costs no setup in these kernels beyond a call, and
// each thread still starts on its own contiguous block (ThreadPool::run).
constexpr int64_t kRangesPerThread = 16;

struct Parallel {
  ThreadPool* pool = nullptr;
  size_t scratch_stride = 0;  // floats between two workers' scratch

  int threads() const { return pool ? pool->threads() : 1; }
  float* scratch(float* base, int worker) const { return base ? base + worker * scratch_stride : nullptr; }

  // Calls fn(begin, end, worker) over [0, n) in ranges whose bounds are
  // multiples of `align` (except the end), each of at least
  // kMinParallelMacs / macs_per_item items, about kRangesPerThread per
  // thread so a loaded core just takes fewer. One range, on the caller, when
  // that leaves one.
  template <class F>
  void for_ranges(int64_t n, int64_t macs_per_item, int64_t align, F&& fn) const {
    if (n <= 0) return;
    align = std::max<int64_t>(align, 1);
    const int t = threads();
    int64_t grain = std::max<int64_t>(kMinParallelMacs / std::max<int64_t>(macs_per_item, 1), 1);
    grain = std::max(grain, (n + kRangesPerThread * t - 1) / (kRangesPerThread * t));
    grain = (grain + align - 1) / align * align;
    const int64_t ranges = (n + grain - 1) / grain;
    if (t == 1 || ranges <= 1) {
      fn(int64_t{0}, n, 0);
      return;
    }
    pool->run(static_cast<int>(ranges), [&](int i, int worker) {
      const int64_t begin = i * grain;
      fn(begin, std::min(n, begin + grain), worker);
    });
  }
};

}  // namespace iciia::kernels
