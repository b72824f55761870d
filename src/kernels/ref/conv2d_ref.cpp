// ONNX Conv on NHWC data, written from the operator definition: for output
// (b, oy, ox, o) of group g = o / (OC/G), sum over the group's input channels
// and the kernel window, taps in the padding contributing zero; then bias,
// residual and activation.
#include "kernels/conv2d.h"

namespace iciia::kernels::ref {

void conv2d(const Conv2dParams& p, const float* weight, const float* bias, const Epilogue& ep, const float* in, int n,
            int h, int w, float* out, const float* residual) {
  const int oh = p.out_h(h), ow = p.out_w(w);
  const int icg = p.in_channels / p.groups, ocg = p.out_channels / p.groups;
  for (int b = 0; b < n; ++b)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int o = 0; o < p.out_channels; ++o) {
          const int g = o / ocg;
          float acc = bias ? bias[o] : 0.f;
          for (int ic = 0; ic < icg; ++ic)
            for (int ky = 0; ky < p.kernel_h; ++ky)
              for (int kx = 0; kx < p.kernel_w; ++kx) {
                const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                const int ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const float x = in[((static_cast<size_t>(b) * h + iy) * w + ix) * p.in_channels + g * icg + ic];
                const float wt = weight[((static_cast<size_t>(o) * icg + ic) * p.kernel_h + ky) * p.kernel_w + kx];
                acc += x * wt;
              }
          const size_t idx = ((static_cast<size_t>(b) * oh + oy) * ow + ox) * p.out_channels + o;
          if (residual) acc += residual[idx];
          out[idx] = activate(ep, acc);
        }
}

}  // namespace iciia::kernels::ref
