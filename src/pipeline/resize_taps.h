// Resampling taps for preprocess's separable resize (docs/design.md,
// "Preprocessing"): shared by the fast path and the scalar reference so both
// weigh the same source pixels with the same float weights.
#pragma once

#include <memory>
#include <vector>

namespace iciia {

// For each output position o: the first contributing source index first[o],
// the number of taps count[o], and their normalised weights at
// weights[offset[o] .. offset[o] + count[o]).
struct ResizeTaps {
  int in_size = 0, out_size = 0;
  std::vector<int> first, count, offset;
  std::vector<float> weights;
  int max_count = 0;  // largest count[o]: rows a vertical pass must keep at once
  // The same taps, each output padded to max_count with zero weights so
  // loops have a fixed trip count (no mispredicted exits): output o reads
  // source [start[o], start[o] + max_count) with weights
  // padded[o * max_count ...]. The padding goes where it keeps the window
  // inside the source. A zero tap adds +0 or -0, which leaves any sum
  // started from +0 unchanged, so the results stay bit-identical.
  std::vector<int> start;
  std::vector<float> padded;
};

// Linear interpolation with pixel centres at half-integers; when shrinking
// the triangle widens by the scale factor (area-like average).
// Sizes must be >= 1 (the callers check them).
ResizeTaps make_resize_taps(int in_size, int out_size);

// The same taps, computed once per (in_size, out_size) and kept in a small
// per-thread cache: a camera sends one size over and over, and building the
// taps allocates per output position. The cache holds at most
// kResizeTapsCacheEntries pairs (each O(in_size + out_size) numbers); a new
// pair evicts the oldest. Per thread, so no locking and no sharing.
inline constexpr int kResizeTapsCacheEntries = 4;
std::shared_ptr<const ResizeTaps> cached_resize_taps(int in_size, int out_size);

}  // namespace iciia
