// Depthwise convolution (groups == in_c == out_c) on NHWC float32, the
// kDepthwise path of PackedConv2d. Vectorised over channels: 4 output pixels
// x 8 channels at a time, acc = bias + sum over taps of in[tap][c..c+7] *
// w[tap][c..c+7], the 4 pixels sharing each weight load (8 independent sums in
// flight; 1 pixel per step or channel-outer loops with the 9 weights held in
// registers both measured slower under V8).
//
// Weights are packed per tile of 8 channels as [bias 8][tap 0: 8]...[tap T-1: 8]
// (channels past C zero). Border pixels read their taps through an
// indirection buffer (one input pointer per tap, the zero row for taps in the
// padding), filled per output row; interior pixels (window inside the input)
// use a fixed offset per tap and no buffer, so no kernel loop has a border
// branch. The tap loop is unrolled for 3x3 (9 taps) and 5x5 (25 taps); other
// kernels run the same code with the tap count at run time. Channel tails
// (C % 8) use partial loads that never read past a pixel.
#pragma once

#include <cstddef>
#include <vector>

#include "kernels/activation.h"
#include "kernels/parallel.h"

namespace iciia::kernels {

struct Conv2dParams;

namespace depthwise {

constexpr int kChannelTile = 8;

// weight: [C][taps] (ONNX [C][1][kh][kw]); bias: C floats or null.
std::vector<float> pack(int channels, int taps, const float* weight, const float* bias);
// Floats of scratch run() needs per worker (the indirection buffer of one output row).
size_t scratch_floats(const Conv2dParams& p, int in_w);
// zeros: at least round_up(C, 8) zero floats. Rows of output are spread over par.
void run(const Conv2dParams& p, const float* packed, const float* zeros, const Epilogue& ep, const float* in, int n,
         int h, int w, float* out, float* scratch, const float* residual, const Parallel& par = {});

}  // namespace depthwise
}  // namespace iciia::kernels
