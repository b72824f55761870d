// Depthwise convolution (groups == in_c == out_c) on NHWC float32, the
// kDepthwise path of PackedConv2d. Vectorised over channels: for one output
// pixel and 8 channels, acc = bias + sum over taps of in[tap][c..c+7] * w[tap][c..c+7].
//
// Weights are packed per tile of 8 channels as [bias 8][tap 0: 8]...[tap T-1: 8]
// (channels past C zero). Each output row gets a small indirection buffer: one
// input pointer per (output pixel, tap), the zero row for taps in the padding,
// so the kernel itself has no border branches. Interior pixels fill theirs with
// a fixed offset per tap, border pixels with the bounds checks. The tap loop is
// unrolled for 3x3 (9 taps) and 5x5 (25 taps); other kernels run a generic loop.
#pragma once

#include <cstddef>
#include <vector>

#include "kernels/activation.h"

namespace iciia::kernels {

struct Conv2dParams;

namespace depthwise {

constexpr int kChannelTile = 8;

// weight: [C][taps] (ONNX [C][1][kh][kw]); bias: C floats or null.
std::vector<float> pack(int channels, int taps, const float* weight, const float* bias);
// Floats of scratch run() needs (the indirection buffer of one output row).
size_t scratch_floats(const Conv2dParams& p, int in_w);
// zeros: at least round_up(C, 8) zero floats.
void run(const Conv2dParams& p, const float* packed, const float* zeros, const Epilogue& ep, const float* in, int n,
         int h, int w, float* out, float* scratch, const float* residual);

}  // namespace depthwise
}  // namespace iciia::kernels
