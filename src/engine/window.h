// The sliding window of Conv / MaxPool / AveragePool: kernel, strides,
// dilations and pads (auto_pad resolved), shared by shape inference and the
// runtime steps so both agree on every output size.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/graph.h"

namespace iciia::engine {

struct Window2d {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int out_h = 0, out_w = 0;
};

// x: the NCHW input value; kernel: {kh, kw}. Throws kFormat naming the node
// for out-of-range attributes or a window larger than the padded input.
Window2d window2d(const Node& node, const Value& x, const std::vector<int64_t>& kernel, bool ceil_mode);

}  // namespace iciia::engine
