// Minimal timing for benchmarks that must also build for WebAssembly, where
// Google Benchmark is not available: run a function repeatedly, report the median.
#pragma once

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

namespace iciia::bench {

// The median of v (the upper one of an even count).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median wall time of fn() in milliseconds over `reps` runs, after `warmup` runs.
template <typename F>
double median_ms(F&& fn, int reps, int warmup = 1) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  t.reserve(reps);
  for (int i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return median(std::move(t));
}

// Repeats fn inside one timing so that sub-microsecond calls are measurable.
template <typename F>
double median_ms_batched(F&& fn, int inner, int reps) {
  return median_ms(
             [&] {
               for (int i = 0; i < inner; ++i) fn();
             },
             reps) /
         inner;
}

}  // namespace iciia::bench
