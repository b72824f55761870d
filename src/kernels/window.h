// The sliding window of a convolution or pooling layer, shared by both
// (Conv2dParams and Pool2dParams embed it) and by the engine, which resolves
// ONNX's attributes into it (engine/window.h).
//
// Output size per axis, with span = in + pad_begin + pad_end - ((k - 1) * d + 1):
//   floor mode: span / stride + 1
//   ceil mode:  ceil(span / stride) + 1, minus one if that last window would
//               start past the input and the begin padding (PyTorch's rule,
//               which onnxruntime follows; pooling only).
// A negative span (window larger than the padded input) gives 0.
#pragma once

namespace iciia::kernels {

struct Window2d {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;

  int out_h(int in_h, bool ceil_mode = false) const {
    return out_size(in_h, kernel_h, stride_h, dilation_h, pad_top, pad_bottom, ceil_mode);
  }
  int out_w(int in_w, bool ceil_mode = false) const {
    return out_size(in_w, kernel_w, stride_w, dilation_w, pad_left, pad_right, ceil_mode);
  }
  Window2d& window() { return *this; }
  const Window2d& window() const { return *this; }

  static int out_size(int in, int k, int s, int d, int pad_begin, int pad_end, bool ceil_mode) {
    const int span = in + pad_begin + pad_end - ((k - 1) * d + 1);
    if (span < 0) return 0;
    int out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= in + pad_begin) --out;
    return out;
  }
};

}  // namespace iciia::kernels
