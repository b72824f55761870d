#include "engine/window.h"

#include <algorithm>
#include <string>

#include "util/error.h"

namespace iciia::engine {

WindowShape window2d(const Node& node, const Value& x, const std::vector<int64_t>& kernel, bool ceil_mode) {
  auto fail = [&](const std::string& what) { throw Error(ErrorCode::kFormat, node.label() + ": " + what); };
  if (x.dims.size() != 4) fail("expects a rank-4 (NCHW) input, got " + x.describe());
  const OnnxNode& n = node.onnx;
  const auto strides = n.attr_ints("strides", {1, 1});
  const auto dilations = n.attr_ints("dilations", {1, 1});
  auto pads = n.attr_ints("pads", {0, 0, 0, 0});
  if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2 || pads.size() != 4)
    fail("kernel_shape, strides, dilations or pads do not describe 2 spatial dims");
  for (int i = 0; i < 2; ++i)
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || kernel[i] > 1024 || strides[i] > 1024 ||
        dilations[i] > 1024)
      fail("kernel, stride and dilation must be in [1, 1024]");
  for (int64_t p : pads)
    if (p < 0 || p > 4096) fail("pads must be in [0, 4096]");
  const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  for (int i = 0; i < 2; ++i) {
    const int64_t in = x.dims[2 + i], ek = (kernel[i] - 1) * dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + strides[i] - 1) / strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + ek - in);
      const int64_t small = total / 2, big = total - small;
      pads[i] = auto_pad == "SAME_UPPER" ? small : big;
      pads[i + 2] = auto_pad == "SAME_UPPER" ? big : small;
    } else if (auto_pad == "VALID") {
      pads[i] = pads[i + 2] = 0;
    } else if (auto_pad != "NOTSET") {
      fail("auto_pad \"" + auto_pad + "\" is not a valid value");
    }
    // The output sizes below are ints: keep the input within reach.
    if (in > (1 << 24)) fail("spatial size " + std::to_string(in) + " is over 2^24");
  }
  WindowShape s;
  kernels::Window2d& w = s.window;
  w.kernel_h = static_cast<int>(kernel[0]);
  w.kernel_w = static_cast<int>(kernel[1]);
  w.stride_h = static_cast<int>(strides[0]);
  w.stride_w = static_cast<int>(strides[1]);
  w.dilation_h = static_cast<int>(dilations[0]);
  w.dilation_w = static_cast<int>(dilations[1]);
  w.pad_top = static_cast<int>(pads[0]);
  w.pad_left = static_cast<int>(pads[1]);
  w.pad_bottom = static_cast<int>(pads[2]);
  w.pad_right = static_cast<int>(pads[3]);
  s.out_h = w.out_h(static_cast<int>(x.dims[2]), ceil_mode);
  s.out_w = w.out_w(static_cast<int>(x.dims[3]), ceil_mode);
  if (s.out_h < 1 || s.out_w < 1) {
    const int64_t ek = s.out_h < 1 ? (kernel[0] - 1) * dilations[0] + 1 : (kernel[1] - 1) * dilations[1] + 1;
    fail("the window (extent " + std::to_string(ek) + ") does not fit the padded input " + x.describe());
  }
  return s;
}

}  // namespace iciia::engine
