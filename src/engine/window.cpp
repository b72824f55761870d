#include "engine/window.h"

#include <algorithm>
#include <string>

#include "util/error.h"

namespace iciia::engine {

Window2d window2d(const Node& node, const Value& x, const std::vector<int64_t>& kernel, bool ceil_mode) {
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
  int64_t out[2];
  for (int i = 0; i < 2; ++i) {
    const int64_t in = x.dims[2 + i], ek = (kernel[i] - 1) * dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out[i] = (in + strides[i] - 1) / strides[i];
      const int64_t total = std::max<int64_t>(0, (out[i] - 1) * strides[i] + ek - in);
      const int64_t small = total / 2, big = total - small;
      pads[i] = auto_pad == "SAME_UPPER" ? small : big;
      pads[i + 2] = auto_pad == "SAME_UPPER" ? big : small;
    } else if (auto_pad == "VALID") {
      pads[i] = pads[i + 2] = 0;
      out[i] = in >= ek ? (in - ek) / strides[i] + 1 : 0;
    } else if (auto_pad == "NOTSET") {
      const int64_t span = in + pads[i] + pads[i + 2] - ek;
      out[i] = span < 0 ? 0 : (ceil_mode ? (span + strides[i] - 1) / strides[i] : span / strides[i]) + 1;
      // A ceil-mode window must start inside the input or its left padding.
      if (ceil_mode && out[i] > 0 && (out[i] - 1) * strides[i] >= in + pads[i]) --out[i];
    } else {
      fail("auto_pad \"" + auto_pad + "\" is not a valid value");
    }
    if (out[i] < 1 || out[i] > (1 << 24))
      fail("the window (extent " + std::to_string(ek) + ") does not fit the padded input " + x.describe());
  }
  Window2d w;
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
  w.out_h = static_cast<int>(out[0]);
  w.out_w = static_cast<int>(out[1]);
  return w;
}

}  // namespace iciia::engine
