// Conv (+ folded BatchNormalization, residual Add and activation) on NHWC.
#include <cmath>

#include "engine/steps.h"
#include "engine/window.h"
#include "kernels/conv2d.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

class ConvStep : public Step {
 public:
  ConvStep(kernels::PackedConv2d conv, int n, int h, int w, int64_t in, int64_t out, int64_t residual)
      : conv_(std::move(conv)), n_(n), h_(h), w_(w), in_(in), out_(out), residual_(residual) {}

  void run(float* arena, float* scratch) const override {
    conv_.run(arena + in_, n_, h_, w_, arena + out_, scratch, residual_ >= 0 ? arena + residual_ : nullptr);
  }
  int64_t scratch_floats() const override { return static_cast<int64_t>(conv_.scratch_floats(h_, w_)); }

 private:
  kernels::PackedConv2d conv_;
  int n_, h_, w_;
  int64_t in_, out_, residual_;
};

}  // namespace

std::unique_ptr<Step> make_conv_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  const Value& wv = a.value(a.input(1));
  const int64_t out_c = wv.dims[0];
  const Window2d win = window2d(a.node, x, {wv.dims[2], wv.dims[3]}, false);
  kernels::Conv2dParams p;
  p.in_channels = static_cast<int>(x.dims[1]);
  p.out_channels = static_cast<int>(out_c);
  p.kernel_h = win.kernel_h;
  p.kernel_w = win.kernel_w;
  p.stride_h = win.stride_h;
  p.stride_w = win.stride_w;
  p.dilation_h = win.dilation_h;
  p.dilation_w = win.dilation_w;
  p.pad_top = win.pad_top;
  p.pad_left = win.pad_left;
  p.pad_bottom = win.pad_bottom;
  p.pad_right = win.pad_right;
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
  kernels::PackedConv2d conv(p, weight, bias, a.epilogue);
  const std::string path = kernels::PackedConv2d::path_name(conv.path());
  const auto& s = a.slot(a.input(0));
  auto step = std::make_unique<ConvStep>(std::move(conv), static_cast<int>(x.dims[0]), static_cast<int>(x.dims[2]),
                                         static_cast<int>(x.dims[3]), s.offset, a.slot(a.output).offset,
                                         a.residual >= 0 ? a.slot(a.residual).offset : -1);
  step->kind = "conv " + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + " " + path +
               (a.residual >= 0 ? " +residual" : "") +
               (a.epilogue.kind != kernels::ActKind::kNone ? std::string(" +") + kernels::act_kind_name(a.epilogue.kind)
                                                           : "");
  step->macs = a.value(a.output).numel() * wv.dims[1] * wv.dims[2] * wv.dims[3];
  return step;
}

}  // namespace iciia::engine
