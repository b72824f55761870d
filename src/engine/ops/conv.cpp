// Conv (2-D, NCHW in the model, NHWC at run time), with a folded
// BatchNormalization, residual Add, constant bias Add and activation.
#include <cmath>

#include "engine/steps.h"
#include "engine/window.h"
#include "kernels/conv2d.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

void infer_conv(InferContext& ctx) {
  ctx.require_float_inputs();
  const Value& x = ctx.in(0);
  const Value& w = ctx.in(1);
  ctx.require_2d_window_input(x);
  ctx.require_rank(w, 4);
  if (!w.constant) ctx.unsupported("weights " + w.describe() + " computed at run time");
  const int64_t group = ctx.node().onnx.attr_int("group", 1);
  if (group < 1 || x.dims[1] % group || w.dims[0] % group)
    ctx.fail("group " + std::to_string(group) + " does not divide the channels of " + x.describe() + " and " +
             w.describe());
  if (w.dims[1] * group != x.dims[1])
    ctx.fail("weights " + w.describe() + " expect " + std::to_string(w.dims[1] * group) + " input channels, input " +
             x.describe());
  if (ctx.has_input(2) && !ctx.in(2).constant) ctx.unsupported("a bias computed at run time");
  if (ctx.has_input(2) && ctx.in(2).numel() != w.dims[0])
    ctx.fail("bias " + ctx.in(2).describe() + " must be a constant of " + std::to_string(w.dims[0]) + " values");
  auto ks = ctx.node().onnx.attr_ints("kernel_shape", {w.dims[2], w.dims[3]});
  if (ks != std::vector<int64_t>{w.dims[2], w.dims[3]}) ctx.fail("kernel_shape disagrees with the weights");
  const WindowShape win = window2d(ctx.node(), x, ks, false);
  ctx.set_output(0, ValueDType::kFloat32, {x.dims[0], w.dims[0], win.out_h, win.out_w});
}

class ConvStep : public Step {
 public:
  ConvStep(kernels::PackedConv2d conv, int n, int h, int w, int64_t in, int64_t out, int64_t residual)
      : conv_(std::move(conv)), n_(n), h_(h), w_(w), in_(in), out_(out), residual_(residual) {}

  void run(float* arena, float* scratch, const kernels::Parallel& par) const override {
    conv_.run(arena + in_, n_, h_, w_, arena + out_, scratch, residual_ >= 0 ? arena + residual_ : nullptr, par);
  }
  int64_t scratch_floats() const override {
    return conv_.scratch_shared() ? 0 : static_cast<int64_t>(conv_.scratch_floats(h_, w_, n_));
  }
  int64_t shared_scratch_floats() const override {
    return conv_.scratch_shared() ? static_cast<int64_t>(conv_.scratch_floats(h_, w_, n_)) : 0;
  }

 private:
  kernels::PackedConv2d conv_;
  int n_, h_, w_;
  int64_t in_, out_, residual_;
};


std::unique_ptr<Step> make_conv_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  const Value& wv = a.value(a.input(1));
  const int64_t out_c = wv.dims[0];
  const WindowShape win = window2d(a.node, x, {wv.dims[2], wv.dims[3]}, false);
  kernels::Conv2dParams p;
  p.window() = win.window;
  p.in_channels = static_cast<int>(x.dims[1]);
  p.out_channels = static_cast<int>(out_c);
  p.groups = static_cast<int>(a.node.onnx.attr_int("group", 1));

  std::vector<float> weight = wv.f32;
  std::vector<float> bias(out_c, 0.f);
  if (a.node.inputs.size() > 2 && a.input(2) >= 0) bias = a.value(a.input(2)).f32;
  if (a.batchnorm) {
    // y = gamma * (conv - mean) / sqrt(var + eps) + beta, folded into the weights.
    const Node& bn = *a.batchnorm;
    const auto& gamma = a.value(bn.inputs[1]).f32;
    const auto& beta = a.value(bn.inputs[2]).f32;
    const auto& mean = a.value(bn.inputs[3]).f32;
    const auto& var = a.value(bn.inputs[4]).f32;
    const float eps = bn.onnx.attr_float("epsilon", 1e-5f);
    const size_t per_out = weight.size() / out_c;
    for (int64_t o = 0; o < out_c; ++o) {
      const float s = gamma[o] / std::sqrt(var[o] + eps);
      for (size_t i = 0; i < per_out; ++i) weight[o * per_out + i] *= s;
      bias[o] = (bias[o] - mean[o]) * s + beta[o];
    }
  }
  if (a.bias_add) {  // an Add of a constant per-channel (or scalar) bias after the conv (and its BatchNorm)
    const Value& c = a.bias_constant();
    for (int64_t o = 0; o < out_c; ++o) bias[o] += c.f32[c.numel() == 1 ? 0 : o];
  }
  kernels::PackedConv2d conv(p, weight, bias, a.epilogue, {static_cast<int>(x.dims[2]), static_cast<int>(x.dims[3])});
  const std::string path = kernels::PackedConv2d::path_name(conv.path());
  const auto& s = a.slot(a.input(0));
  auto step = std::make_unique<ConvStep>(std::move(conv), static_cast<int>(x.dims[0]), static_cast<int>(x.dims[2]),
                                         static_cast<int>(x.dims[3]), s.offset, a.slot(a.output).offset,
                                         a.residual >= 0 ? a.slot(a.residual).offset : -1);
  step->kind = "conv " + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + " " + path + a.fused_suffix();
  return step;
}

// Input channels per group x kernel taps.
int64_t conv_macs(const Graph& g, const Node& n) {
  const auto& w = g.values[n.inputs[1]].dims;
  return w[1] * w[2] * w[3];
}

constexpr OpDef kOps[] = {
    {.op_type = "Conv",
     .since_opset = 11,
     .infer = infer_conv,
     .make_step = make_conv_step,
     .macs_per_output = conv_macs,
     .absorbs = Absorbs::kConvEpilogue,
     .attributes = "group kernel_shape strides pads dilations auto_pad SAME_UPPER SAME_LOWER VALID NOTSET"},
};

}  // namespace

std::span<const OpDef> ops::conv_ops() { return kOps; }

}  // namespace iciia::engine
