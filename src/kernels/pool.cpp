#include "kernels/pool.h"

#include <algorithm>
#include <limits>
#include <string>

#include "kernels/vec.h"
#include "util/error.h"

namespace iciia::kernels {

using namespace vec;

namespace {

void check(const Pool2dParams& p, const char* op, int n, int h, int w, int c) {
  auto bad = [&](const std::string& what) { throw Error(ErrorCode::kInvalidArgument, std::string(op) + ": " + what); };
  if (p.kernel_h <= 0 || p.kernel_w <= 0) bad("kernel size must be positive");
  if (p.stride_h <= 0 || p.stride_w <= 0) bad("strides must be positive");
  if (p.dilation_h <= 0 || p.dilation_w <= 0) bad("dilations must be positive");
  if (p.pad_top < 0 || p.pad_left < 0 || p.pad_bottom < 0 || p.pad_right < 0) bad("pads must not be negative");
  if (n <= 0 || h <= 0 || w <= 0 || c <= 0) bad("input must be non-empty");
  if (p.out_h(h) <= 0 || p.out_w(w) <= 0)
    bad("input " + std::to_string(h) + "x" + std::to_string(w) + " is smaller than the window");
}

// Taps k in [lo, hi) of a window starting at i0 (dilation d) that land in [0, in).
inline void valid_taps(int i0, int k, int d, int in, int& lo, int& hi) {
  lo = i0 >= 0 ? 0 : (-i0 + d - 1) / d;
  hi = i0 + (k - 1) * d < in ? k : (in - 1 - i0 >= 0 ? (in - 1 - i0) / d + 1 : 0);
  if (hi < lo) hi = lo;
}

template <bool kMax>
void pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out) {
  const int oh = p.out_h(h), ow = p.out_w(w);
  const int dh = kMax ? p.dilation_h : 1, dw = kMax ? p.dilation_w : 1;
  const float init = kMax ? -std::numeric_limits<float>::infinity() : 0.f;
  for (int b = 0; b < n; ++b) {
    const float* img = in + static_cast<size_t>(b) * h * w * c;
    for (int oy = 0; oy < oh; ++oy) {
      const int iy0 = oy * p.stride_h - p.pad_top;
      int ky_lo, ky_hi;
      valid_taps(iy0, p.kernel_h, dh, h, ky_lo, ky_hi);
      for (int ox = 0; ox < ow; ++ox) {
        const int ix0 = ox * p.stride_w - p.pad_left;
        int kx_lo, kx_hi;
        valid_taps(ix0, p.kernel_w, dw, w, kx_lo, kx_hi);
        float* o = out + ((static_cast<size_t>(b) * oh + oy) * ow + ox) * c;
        float scale = 1.f;
        if (!kMax) {
          int count;
          if (p.count_include_pad) {
            const int y1 = std::min(iy0 + p.kernel_h, h + p.pad_bottom), x1 = std::min(ix0 + p.kernel_w, w + p.pad_right);
            count = (y1 - iy0) * (x1 - ix0);
          } else {
            count = (ky_hi - ky_lo) * (kx_hi - kx_lo);
          }
          scale = count > 0 ? 1.f / static_cast<float>(count) : 0.f;
        }
        // 16 channels at a time over the window, then 4, then a partial vector.
        int ch = 0;
        for (; ch < c; ch += 16) {
          const int m = std::min(16, c - ch);
          f32x4 acc[4] = {splat(init), splat(init), splat(init), splat(init)};
          for (int ky = ky_lo; ky < ky_hi; ++ky) {
            const float* row = img + static_cast<size_t>(iy0 + ky * dh) * w * c + ch;
            for (int kx = kx_lo; kx < kx_hi; ++kx) {
              const float* px = row + static_cast<size_t>(ix0 + kx * dw) * c;
              if (m == 16) {
                for (int j = 0; j < 4; ++j) acc[j] = kMax ? max(acc[j], load(px + 4 * j)) : add(acc[j], load(px + 4 * j));
              } else {
                for (int j = 0; 4 * j < m; ++j) {
                  const f32x4 v = load_partial(px + 4 * j, std::min(4, m - 4 * j));
                  acc[j] = kMax ? max(acc[j], v) : add(acc[j], v);
                }
              }
            }
          }
          if (!kMax)
            for (int j = 0; j < 4; ++j) acc[j] = mul(acc[j], splat(scale));
          if (m == 16) {
            for (int j = 0; j < 4; ++j) store(o + ch + 4 * j, acc[j]);
          } else {
            for (int j = 0; 4 * j < m; ++j) store_partial(o + ch + 4 * j, acc[j], std::min(4, m - 4 * j));
          }
        }
      }
    }
  }
}

}  // namespace

void max_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out) {
  check(p, "MaxPool", n, h, w, c);
  pool2d<true>(p, in, n, h, w, c, out);
}

void avg_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out) {
  check(p, "AveragePool", n, h, w, c);
  Pool2dParams q = p;
  q.dilation_h = q.dilation_w = 1;
  pool2d<false>(q, in, n, h, w, c, out);
}

void global_avg_pool(const float* in, int n, int h, int w, int c, float* out, const Parallel& par) {
  if (n <= 0 || h <= 0 || w <= 0 || c <= 0)
    throw Error(ErrorCode::kInvalidArgument, "GlobalAveragePool: input must be non-empty");
  const size_t hw = static_cast<size_t>(h) * w;
  const f32x4 scale = splat(1.f / static_cast<float>(hw));
  // Blocks of 32 channels of one image are independent (each sums its own
  // pixels in the one order), so ranges of them go to the threads.
  const int64_t blocks = (c + 31) / 32;
  par.for_ranges(n * blocks, static_cast<int64_t>(hw) * 32, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t blk = begin; blk < end; ++blk) {
      const size_t b = static_cast<size_t>(blk / blocks);
      const int ch = static_cast<int>(blk % blocks) * 32;
      const float* img = in + b * hw * c;
      float* o = out + b * c;
      // 32 channels in 8 registers, summed down all pixels.
      const int m = std::min(32, c - ch);
      f32x4 acc[8];
      for (auto& a : acc) a = zero();
      if (m == 32) {
        for (size_t i = 0; i < hw; ++i)
          for (int j = 0; j < 8; ++j) acc[j] = add(acc[j], load(img + i * c + ch + 4 * j));
        for (int j = 0; j < 8; ++j) store(o + ch + 4 * j, mul(acc[j], scale));
      } else {
        for (size_t i = 0; i < hw; ++i)
          for (int j = 0; 4 * j < m; ++j)
            acc[j] = add(acc[j], load_partial(img + i * c + ch + 4 * j, std::min(4, m - 4 * j)));
        for (int j = 0; 4 * j < m; ++j) store_partial(o + ch + 4 * j, mul(acc[j], scale), std::min(4, m - 4 * j));
      }
    }
  });
}

}  // namespace iciia::kernels
