// Pooling on NHWC float32 tensors, vectorised over channels (ONNX MaxPool,
// AveragePool, GlobalAveragePool).
//
// Output sizes: kernels/window.h. Padded taps are skipped by max pooling.
// Average pooling divides by the number of taps inside the input
// (count_include_pad = 0) or inside the padded extent [-pad_begin, in +
// pad_end) (count_include_pad = 1; in floor mode that is always kh * kw). A
// window with nothing to count gives 0 (average) or -inf (max).
#pragma once

#include <cstddef>

#include "kernels/parallel.h"
#include "kernels/window.h"

namespace iciia::kernels {

struct Pool2dParams : Window2d {  // dilation: MaxPool only
  bool ceil_mode = false;
  bool count_include_pad = false;  // AveragePool only

  int out_h(int in_h) const { return Window2d::out_h(in_h, ceil_mode); }
  int out_w(int in_w) const { return Window2d::out_w(in_w, ceil_mode); }
};

// out [n][out_h][out_w][c]. Throw Error(kInvalidArgument) on bad parameters
// or an empty output.
void max_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out);
void avg_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out);
// out [n][c] = mean over h*w of in [n][h][w][c]; blocks of channels spread over par.
void global_avg_pool(const float* in, int n, int h, int w, int c, float* out, const Parallel& par = {});

namespace ref {
void max_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out);
void avg_pool2d(const Pool2dParams& p, const float* in, int n, int h, int w, int c, float* out);
void global_avg_pool(const float* in, int n, int h, int w, int c, float* out);
}  // namespace ref

}  // namespace iciia::kernels
