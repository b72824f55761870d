// BatchNormalization in inference mode. One right after a Conv is folded into
// its weights (conv.cpp); one that no Conv absorbed (after a pool, an Add,
// the graph input, ...) runs as one per-channel scale and shift, computed at
// load time, plus a fused activation. Channels are axis 1: innermost for an
// NHWC value, [outer][C][inner] for a row-major one.
#include <cmath>

#include "engine/steps.h"
#include "kernels/vec.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

void infer_batchnorm(InferContext& ctx) {
  ctx.require_float_inputs();
  const Value& x = ctx.in(0);
  if (x.dims.size() < 2) ctx.fail("expects at least rank 2, got " + x.describe());
  for (size_t i = 1; i <= 4; ++i) {
    const Value& p = ctx.in(i);
    if (!p.constant) ctx.unsupported("parameter " + p.describe() + " computed at run time");
    if (p.numel() != x.dims[1])
      ctx.fail("parameter " + p.describe() + " must hold " + std::to_string(x.dims[1]) + " values");
  }
  const int64_t training = ctx.node().onnx.attr_int("training_mode", 0);
  if (training != 0) ctx.unsupported("training_mode = " + std::to_string(training));
  for (size_t i = 1; i < ctx.node().outputs.size(); ++i)
    if (ctx.node().outputs[i] >= 0) ctx.unsupported("training-mode output '" + ctx.out(i).name + "'");
  ctx.set_output(0, ValueDType::kFloat32, x.dims);
}

class ChannelAffineStep : public Step {
 public:
  // y[o][c][i] = act(x[o][c][i] * scale[c] + shift[c]).
  ChannelAffineStep(int64_t outer, int64_t channels, int64_t inner, std::vector<float> scale, std::vector<float> shift,
                    kernels::Epilogue ep, int64_t in, int64_t out)
      : outer_(outer), channels_(channels), inner_(inner), scale_(std::move(scale)), shift_(std::move(shift)), ep_(ep),
        in_(in), out_(out) {}

  void run(float* arena, float*, const kernels::Parallel&) const override {
    using namespace vec;
    const float* x = arena + in_;
    float* y = arena + out_;
    for (int64_t o = 0; o < outer_; ++o) {
      if (inner_ == 1) {  // channels innermost: vectors over channels
        const float* xr = x + o * channels_;
        float* yr = y + o * channels_;
        int64_t c = 0;
        for (; c + 4 <= channels_; c += 4)
          store(yr + c, madd(load(shift_.data() + c), load(xr + c), load(scale_.data() + c)));
        for (; c < channels_; ++c) yr[c] = shift_[c] + xr[c] * scale_[c];
        kernels::apply_activation(ep_, yr, static_cast<size_t>(channels_));
      } else {
        for (int64_t c = 0; c < channels_; ++c) {
          const float* xr = x + (o * channels_ + c) * inner_;
          float* yr = y + (o * channels_ + c) * inner_;
          const f32x4 s = splat(scale_[c]), b = splat(shift_[c]);
          int64_t i = 0;
          for (; i + 4 <= inner_; i += 4) store(yr + i, madd(b, load(xr + i), s));
          for (; i < inner_; ++i) yr[i] = shift_[c] + xr[i] * scale_[c];
          kernels::apply_activation(ep_, yr, static_cast<size_t>(inner_));
        }
      }
    }
  }

 private:
  int64_t outer_, channels_, inner_;
  std::vector<float> scale_, shift_;
  kernels::Epilogue ep_;
  int64_t in_, out_;
};

std::unique_ptr<Step> make_batchnorm_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  if (x.constant) throw Error(ErrorCode::kUnsupported, a.node.label() + ": normalising a constant " + x.describe());
  const auto& gamma = a.value(a.input(1)).f32;
  const auto& beta = a.value(a.input(2)).f32;
  const auto& mean = a.value(a.input(3)).f32;
  const auto& var = a.value(a.input(4)).f32;
  const float eps = a.node.onnx.attr_float("epsilon", 1e-5f);
  const int64_t channels = x.dims[1];
  std::vector<float> scale(channels), shift(channels);
  for (int64_t c = 0; c < channels; ++c) {
    scale[c] = gamma[c] / std::sqrt(var[c] + eps);
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  int64_t outer = x.dims[0], inner = 1;
  if (a.slot(a.input(0)).nhwc) {
    outer = x.dims[0] * x.dims[2] * x.dims[3];
  } else {
    for (size_t d = 2; d < x.dims.size(); ++d) inner *= x.dims[d];
  }
  auto step = std::make_unique<ChannelAffineStep>(outer, channels, inner, std::move(scale), std::move(shift), a.epilogue,
                                                  a.slot(a.input(0)).offset, a.slot(a.output).offset);
  step->kind = "batchnorm" + a.fused_suffix();
  return step;
}

constexpr OpDef kOps[] = {
    {.op_type = "BatchNormalization",
     .since_opset = 9,
     .infer = infer_batchnorm,
     .make_step = make_batchnorm_step,
     .absorbs = Absorbs::kActivation,
     .role = FuseRole::kBatchNorm,
     .attributes = "epsilon momentum training_mode"},
};

}  // namespace

std::span<const OpDef> ops::batchnorm_ops() { return kOps; }

}  // namespace iciia::engine
