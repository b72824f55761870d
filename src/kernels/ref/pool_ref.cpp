// MaxPool, AveragePool and GlobalAveragePool on NHWC data, from the ONNX
// operator definitions: each output looks at its window tap by tap.
#include <algorithm>
#include <limits>

#include "kernels/pool.h"

namespace iciia::kernels::ref {

namespace {

template <bool kMax>
void pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out) {
  const int oh = p.out_h(h), ow = p.out_w(w);
  const int dh = kMax ? p.dilation_h : 1, dw = kMax ? p.dilation_w : 1;
  for (int b = 0; b < n; ++b)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int ch = 0; ch < c; ++ch) {
          float acc = kMax ? -std::numeric_limits<float>::infinity() : 0.f;
          int inside = 0, padded = 0;
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx) {
              const int iy = oy * p.stride_h - p.pad_top + ky * dh;
              const int ix = ox * p.stride_w - p.pad_left + kx * dw;
              if (iy < h + p.pad_bottom && ix < w + p.pad_right) ++padded;  // iy, ix >= -pad_begin always
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              ++inside;
              const float v = in[((static_cast<size_t>(b) * h + iy) * w + ix) * c + ch];
              acc = kMax ? std::max(acc, v) : acc + v;
            }
          if (!kMax) {
            const int count = p.count_include_pad ? padded : inside;
            acc = count > 0 ? acc / static_cast<float>(count) : 0.f;
          }
          out[((static_cast<size_t>(b) * oh + oy) * ow + ox) * c + ch] = acc;
        }
}

}  // namespace

void max_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out) {
  pool2d<true>(p, in, n, h, w, c, out);
}

void avg_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out) {
  pool2d<false>(p, in, n, h, w, c, out);
}

void global_avg_pool(const float* in, int n, int h, int w, int c, float* out) {
  for (int b = 0; b < n; ++b)
    for (int ch = 0; ch < c; ++ch) {
      double sum = 0.0;
      for (int i = 0; i < h * w; ++i) sum += in[(static_cast<size_t>(b) * h * w + i) * c + ch];
      out[static_cast<size_t>(b) * c + ch] = static_cast<float>(sum / (h * w));
    }
}

}  // namespace iciia::kernels::ref
