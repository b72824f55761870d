// MaxPool, AveragePool and GlobalMaxPool on NHWC (2-D windows).
#include <algorithm>

#include "engine/steps.h"
#include "engine/window.h"
#include "kernels/pool.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

void infer_pool(InferContext& ctx) {
  const Value& x = ctx.in(0);
  ctx.require_2d_window_input(x);
  auto ks = ctx.node().onnx.attr_ints("kernel_shape");
  if (ks.size() != 2) ctx.fail("kernel_shape must have 2 entries");
  const bool ceil_mode = ctx.node().onnx.attr_int("ceil_mode", 0) != 0;
  const int64_t storage_order = ctx.node().onnx.attr_int("storage_order", 0);
  if (ctx.node().op_type() == "MaxPool" && storage_order != 0)
    ctx.unsupported("storage_order = " + std::to_string(storage_order));
  if (ctx.node().op_type() == "AveragePool") {
    for (int64_t d : ctx.node().onnx.attr_ints("dilations", {1, 1}))
      if (d != 1) ctx.unsupported("dilations = " + std::to_string(d));
  }
  if (ctx.node().outputs.size() > 1 && ctx.node().outputs[1] >= 0) ctx.unsupported("the Indices output");
  const WindowShape win = window2d(ctx.node(), x, ks, ceil_mode);
  ctx.set_output(0, ValueDType::kFloat32, {x.dims[0], x.dims[1], win.out_h, win.out_w});
}

// [N, C, H, W] -> [N, C, 1, 1]
void infer_global_max_pool(InferContext& ctx) {
  const Value& x = ctx.in(0);
  ctx.require_2d_window_input(x);
  if (x.dtype != ValueDType::kFloat32) ctx.fail("expects a float input, got " + x.describe());
  ctx.set_output(0, ValueDType::kFloat32, {x.dims[0], x.dims[1], 1, 1});
}

class PoolStep : public Step {
 public:
  PoolStep(bool max, kernels::Pool2dParams p, int n, int h, int w, int c, int64_t in, int64_t out)
      : max_(max), p_(p), n_(n), h_(h), w_(w), c_(c), in_(in), out_(out) {}
  void run(float* arena, float*, const kernels::Parallel&) const override {
    if (max_)
      kernels::max_pool2d(p_, arena + in_, n_, h_, w_, c_, arena + out_);
    else
      kernels::avg_pool2d(p_, arena + in_, n_, h_, w_, c_, arena + out_);
  }

 private:
  bool max_;
  kernels::Pool2dParams p_;
  int n_, h_, w_, c_;
  int64_t in_, out_;
};

std::unique_ptr<Step> pool_step(const StepArgs& a, bool max, const kernels::Pool2dParams& p) {
  const Value& x = a.in(0);
  if (!a.slot(a.input(0)).nhwc)
    throw Error(ErrorCode::kUnsupported, a.node.label() + ": pooling needs a rank-4 input, got " + x.describe());
  auto step = std::make_unique<PoolStep>(max, p, static_cast<int>(x.dims[0]), static_cast<int>(x.dims[2]),
                                         static_cast<int>(x.dims[3]), static_cast<int>(x.dims[1]),
                                         a.slot(a.input(0)).offset, a.slot(a.output).offset);
  step->kind = a.node.op_type();
  return step;
}

std::unique_ptr<Step> make_window_pool_step(const StepArgs& a) {
  kernels::Pool2dParams p;
  p.ceil_mode = a.node.onnx.attr_int("ceil_mode", 0) != 0;
  p.window() = window2d(a.node, a.in(0), a.node.onnx.attr_ints("kernel_shape"), p.ceil_mode).window;
  p.count_include_pad = a.node.onnx.attr_int("count_include_pad", 0) != 0;
  return pool_step(a, a.node.op_type() == "MaxPool", p);
}

// The max pooling kernel with one window over the whole image.
std::unique_ptr<Step> make_global_max_pool_step(const StepArgs& a) {
  kernels::Pool2dParams p;
  p.kernel_h = static_cast<int>(a.in(0).dims[2]);
  p.kernel_w = static_cast<int>(a.in(0).dims[3]);
  return pool_step(a, true, p);
}

int64_t window_taps(const Graph&, const Node& n) {
  int64_t taps = 1;
  for (int64_t k : n.onnx.attr_ints("kernel_shape")) taps *= std::clamp<int64_t>(k, 1, 1024);  // checked by window2d
  return taps;
}

int64_t image_taps(const Graph& g, const Node& n) {
  const auto& x = g.values[n.inputs[0]].dims;
  return x[2] * x[3];
}

constexpr OpDef kOps[] = {
    {.op_type = "AveragePool",
     .since_opset = 11,
     .infer = infer_pool,
     .make_step = make_window_pool_step,
     .taps_per_output = window_taps,
     .attributes = "kernel_shape strides pads dilations auto_pad SAME_UPPER SAME_LOWER VALID NOTSET ceil_mode "
                   "count_include_pad"},
    {.op_type = "GlobalMaxPool",
     .since_opset = 1,
     .infer = infer_global_max_pool,
     .make_step = make_global_max_pool_step,
     .taps_per_output = image_taps},
    {.op_type = "MaxPool",
     .since_opset = 11,
     .infer = infer_pool,
     .make_step = make_window_pool_step,
     .taps_per_output = window_taps,
     .attributes = "kernel_shape strides pads dilations auto_pad SAME_UPPER SAME_LOWER VALID NOTSET ceil_mode "
                   "storage_order"},
};

}  // namespace

std::span<const OpDef> ops::pool_ops() { return kOps; }

}  // namespace iciia::engine
