#include "pipeline/resize_taps.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace iciia {

ResizeTaps make_resize_taps(int in_size, int out_size) {
  ResizeTaps taps;
  taps.in_size = in_size;
  taps.out_size = out_size;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.offset.resize(out_size);
  const double scale = static_cast<double>(in_size) / out_size;
  const double support = std::max(1.0, scale);  // half-width of the triangle, in source pixels
  std::vector<double> w;
  for (int o = 0; o < out_size; ++o) {
    const double centre = (o + 0.5) * scale;  // in source coordinates, pixel i spans [i, i+1)
    int lo = static_cast<int>(std::floor(centre - support));
    int hi = static_cast<int>(std::ceil(centre + support));
    lo = std::max(lo, 0);
    hi = std::min(hi, in_size);
    taps.offset[o] = static_cast<int>(taps.weights.size());
    double sum = 0;
    w.clear();
    for (int i = lo; i < hi; ++i) {
      const double d = std::abs((i + 0.5 - centre) / support);
      w.push_back(d < 1 ? 1 - d : 0);
      sum += w.back();
    }
    // Trim zero-weight ends so the inner loops stay short.
    int begin = 0, end = static_cast<int>(w.size());
    while (begin < end && w[begin] == 0) ++begin;
    while (end > begin && w[end - 1] == 0) --end;
    if (begin == end) {  // cannot happen for support >= 1, but never divide by 0
      begin = 0;
      end = 1;
      if (w.empty()) w.push_back(0);
      w[0] = sum = 1;
    }
    taps.first[o] = lo + begin;
    taps.count[o] = end - begin;
    taps.max_count = std::max(taps.max_count, end - begin);
    for (int i = begin; i < end; ++i) taps.weights.push_back(static_cast<float>(w[i] / sum));
  }
  const int m = taps.max_count;
  taps.start.resize(out_size);
  taps.padded.assign(size_t(out_size) * m, 0.f);
  for (int o = 0; o < out_size; ++o) {
    // first + count <= in_size and count <= m <= in_size, so this window
    // holds every tap and stays inside the source.
    const int start = std::min(taps.first[o], in_size - m);
    taps.start[o] = start;
    for (int k = 0; k < taps.count[o]; ++k)
      taps.padded[size_t(o) * m + (taps.first[o] - start) + k] = taps.weights[taps.offset[o] + k];
  }
  return taps;
}

std::shared_ptr<const ResizeTaps> cached_resize_taps(int in_size, int out_size) {
  struct Cache {
    std::array<std::shared_ptr<const ResizeTaps>, kResizeTapsCacheEntries> entries;
    int next = 0;  // the oldest entry, replaced on a miss
  };
  thread_local Cache cache;
  for (const auto& e : cache.entries)
    if (e && e->in_size == in_size && e->out_size == out_size) return e;
  auto taps = std::make_shared<const ResizeTaps>(make_resize_taps(in_size, out_size));
  cache.entries[cache.next] = taps;
  cache.next = (cache.next + 1) % kResizeTapsCacheEntries;
  return taps;
}

}  // namespace iciia
