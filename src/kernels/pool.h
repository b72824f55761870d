// Pooling on NHWC float32 tensors, vectorised over channels (ONNX MaxPool,
// AveragePool, GlobalAveragePool).
//
// Output size per axis, with span = in + pad_begin + pad_end - ((k - 1) * d + 1):
//   floor mode: span / stride + 1
//   ceil mode:  ceil(span / stride) + 1, minus one if that last window would
//               start past the input and the begin padding (PyTorch's rule,
//               which onnxruntime follows).
// Padded taps are skipped by max pooling. Average pooling divides by the
// number of taps inside the input (count_include_pad = 0) or inside the padded
// extent [-pad_begin, in + pad_end) (count_include_pad = 1; in floor mode
// that is always kh * kw). A window with nothing to count gives 0 (average)
// or -inf (max).
#pragma once

#include <cstddef>

namespace iciia::kernels {

struct Pool2dParams {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;  // MaxPool only
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool ceil_mode = false;
  bool count_include_pad = false;  // AveragePool only

  int out_h(int in_h) const;
  int out_w(int in_w) const;
};

// out [n][out_h][out_w][c]. Throw Error(kInvalidArgument) on bad parameters
// or an empty output.
void max_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out);
void avg_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out);
// out [n][c] = mean over h*w of in [n][h][w][c].
void global_avg_pool(const float* in, int n, int h, int w, int c, float* out);

namespace ref {
void max_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out);
void avg_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out);
void global_avg_pool(const float* in, int n, int h, int w, int c, float* out);
}  // namespace ref

}  // namespace iciia::kernels
