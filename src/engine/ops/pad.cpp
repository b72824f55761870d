// Pad (constant, reflect, edge; negative pads crop) in the storage order of
// its operand: each output axis gets a table from output index to input index
// (-1 = the constant), so the run is a walk over the output with no per-mode
// branches; rows whose innermost axis is not padded are one memcpy.
#include <algorithm>
#include <cstring>
#include <string>

#include "engine/steps.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

void infer_pad(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const std::string mode = ctx.node().onnx.attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") ctx.unsupported("mode = \"" + mode + "\"");
  if (x.dtype != ValueDType::kFloat32) ctx.unsupported("padding " + x.describe() + " (float data only)");
  const auto pads = ctx.constant_ints(1, "pads");
  if (ctx.has_input(2)) {
    const Value& cv = ctx.in(2);
    if (!cv.constant) ctx.unsupported("a constant_value computed at run time");
    if (cv.numel() != 1) ctx.fail("constant_value " + cv.describe() + " must be a scalar");
  }
  if (pads.size() != 2 * x.dims.size()) ctx.fail("pads has " + std::to_string(pads.size()) + " entries for " + x.describe());
  auto dims = x.dims;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t lo = pads[i], hi = pads[i + dims.size()];
    if (lo < -dims[i] || hi < -dims[i] || lo > (1 << 20) || hi > (1 << 20)) ctx.fail("pads out of range for " + x.describe());
    dims[i] += lo + hi;
    if (dims[i] < 0) ctx.fail("pads out of range for " + x.describe());
    // ONNX reflect mirrors without repeating the border: at most dim - 1 per side.
    if (mode == "reflect" && (pads[i] >= x.dims[i] || pads[i + dims.size()] >= x.dims[i]) &&
        (pads[i] > 0 || pads[i + dims.size()] > 0))
      ctx.unsupported("reflect padding of " + std::to_string(pads[i]) + ", " + std::to_string(pads[i + dims.size()]) +
                      " on axis " + std::to_string(i) + " of " + x.describe() + " (at most dim - 1)");
  }
  ctx.set_output(0, ValueDType::kFloat32, std::move(dims));
}

class PadStep : public Step {
 public:
  struct Axis {
    int64_t in_stride = 0, out_stride = 0;
    std::vector<int64_t> map;  // output index -> input index, -1 for the constant
  };
  // contiguous_inner: the innermost axis is unpadded with unit strides on both sides.
  PadStep(std::vector<Axis> axes, bool contiguous_inner, float value, int64_t in, int64_t out)
      : axes_(std::move(axes)), contiguous_inner_(contiguous_inner), value_(value), in_(in), out_(out) {}

  void run(float* arena, float*, const kernels::Parallel&) const override { walk(0, arena + in_, arena + out_, false); }

 private:
  // Fills the output block of axis `k` onward; `outside`: the block lies in the padding.
  void walk(size_t k, const float* src, float* dst, bool outside) const {
    const Axis& a = axes_[k];
    const int64_t n = static_cast<int64_t>(a.map.size());
    if (k + 1 == axes_.size()) {
      if (outside) {
        for (int64_t o = 0; o < n; ++o) dst[o * a.out_stride] = value_;
      } else if (contiguous_inner_) {
        std::memcpy(dst, src + a.map[0], sizeof(float) * n);
      } else {
        for (int64_t o = 0; o < n; ++o) dst[o * a.out_stride] = a.map[o] < 0 ? value_ : src[a.map[o] * a.in_stride];
      }
      return;
    }
    for (int64_t o = 0; o < n; ++o) {
      const int64_t i = a.map[o];
      walk(k + 1, outside || i < 0 ? src : src + i * a.in_stride, dst + o * a.out_stride, outside || i < 0);
    }
  }

  std::vector<Axis> axes_;
  bool contiguous_inner_;
  float value_;
  int64_t in_, out_;
};

std::unique_ptr<Step> make_pad_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  const Value& y = a.value(a.output);
  if (x.constant) throw Error(ErrorCode::kUnsupported, a.node.label() + ": padding a constant " + x.describe());
  const std::string mode = a.node.onnx.attr_string("mode", "constant");
  const Value& pv = a.value(a.input(1));
  const std::vector<int64_t>& pads = pv.i64;
  float value = 0.f;
  if (a.has_input(2)) {
    const Value& cv = a.value(a.input(2));
    value = cv.dtype == ValueDType::kFloat32 ? cv.f32[0] : static_cast<float>(cv.i64[0]);
  }
  const size_t r = x.dims.size();
  if (pv.dtype != ValueDType::kInt64 || pads.size() != 2 * r)
    throw Error(ErrorCode::kFormat, a.node.label() + ": pads " + pv.describe() + " do not fit " + x.describe());
  const auto xs = storage_strides(x, a.slot(a.input(0)));
  const auto ys = storage_strides(y, a.slot(a.output));
  // Axes in storage order (outermost first): by decreasing output stride.
  std::vector<size_t> order(r);
  for (size_t i = 0; i < r; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t p, size_t q) { return ys[p] > ys[q]; });
  std::vector<PadStep::Axis> axes;
  for (size_t d : order) {
    PadStep::Axis ax;
    ax.in_stride = xs[d];
    ax.out_stride = ys[d];
    const int64_t in = x.dims[d], begin = pads[d];
    for (int64_t o = 0; o < y.dims[d]; ++o) {
      int64_t i = o - begin;
      if (i < 0 || i >= in) {
        if (mode == "edge") {
          i = i < 0 ? 0 : in - 1;
        } else if (mode == "reflect") {
          i = i < 0 ? -i : 2 * (in - 1) - i;  // pads <= in - 1 (checked at inference)
        } else {
          i = -1;
        }
      }
      ax.map.push_back(i);
    }
    axes.push_back(std::move(ax));
  }
  if (axes.empty()) {  // a scalar: a copy
    PadStep::Axis ax;
    ax.map = {0};
    axes.push_back(ax);
  }
  const size_t inner = order.empty() ? 0 : order.back();
  const bool contiguous =
      !order.empty() && pads[inner] == 0 && pads[inner + r] == 0 && xs[inner] == 1 && ys[inner] == 1;
  auto step = std::make_unique<PadStep>(std::move(axes), contiguous, value, a.slot(a.input(0)).offset,
                                        a.slot(a.output).offset);
  step->kind = "pad " + mode;
  return step;
}

constexpr OpDef kOps[] = {
    {.op_type = "Pad", .since_opset = 11, .infer = infer_pad, .make_step = make_pad_step,
     .attributes = "mode constant reflect edge wrap"},
};

}  // namespace

std::span<const OpDef> ops::pad_ops() { return kOps; }

}  // namespace iciia::engine
