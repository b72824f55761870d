// The sliding window of Conv / MaxPool / AveragePool from a node's
// attributes (kernel, strides, dilations, pads, auto_pad resolved), shared by
// shape inference and the runtime steps so both agree on every output size.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/graph.h"
#include "kernels/window.h"

namespace iciia::engine {

struct WindowShape {
  kernels::Window2d window;
  int out_h = 0, out_w = 0;
};

// x: the NCHW input value; kernel: {kh, kw}. Throws kFormat naming the node
// for out-of-range attributes or a window larger than the padded input.
WindowShape window2d(const Node& node, const Value& x, const std::vector<int64_t>& kernel, bool ceil_mode);

}  // namespace iciia::engine
