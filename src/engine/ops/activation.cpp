// The activations a kernel can fuse (Relu, Clip, Sigmoid, HardSigmoid,
// HardSwish): each entry says which epilogue it is, so the planner folds it
// into the step before it; a standalone one is a pass over its input.
#include <cmath>

#include "engine/steps.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

void infer_unary(InferContext& ctx) {
  const Value& x = ctx.in(0);
  if (x.dtype != ValueDType::kFloat32) ctx.fail("expects a float input, got " + x.describe());
  if (ctx.node().op_type() == "Clip") {
    // Opset 11+: bounds are optional inputs and must be known at load time
    // (they become the fused epilogue's constants).
    for (size_t i = 1; i <= 2; ++i)
      if (ctx.has_input(i) && ctx.in(i).dtype != ValueDType::kFloat32) ctx.fail("Clip bounds must be float");
    if (ctx.has_input(1)) (void)ctx.constant_ints(1, "min");
    if (ctx.has_input(2)) (void)ctx.constant_ints(2, "max");
  }
  ctx.set_output(0, ValueDType::kFloat32, x.dims);
}

bool activation(const Graph& graph, const Node& node, kernels::Epilogue* ep) {
  const std::string& op = node.op_type();
  if (op == "Relu") {
    *ep = kernels::Epilogue::relu();
  } else if (op == "Sigmoid") {
    *ep = kernels::Epilogue::sigmoid();
  } else if (op == "HardSwish") {
    *ep = kernels::Epilogue::hardswish();
  } else if (op == "HardSigmoid") {
    *ep = kernels::Epilogue::hardsigmoid(node.onnx.attr_float("alpha", 0.2f), node.onnx.attr_float("beta", 0.5f));
  } else if (op == "Clip") {
    auto bound = [&](size_t i, float fallback) {
      if (i >= node.inputs.size() || node.inputs[i] < 0) return fallback;
      const Value& v = graph.values[node.inputs[i]];
      if (!v.constant || v.numel() != 1)
        throw Error(ErrorCode::kUnsupported, node.label() + ": Clip bounds must be constant scalars");
      return v.dtype == ValueDType::kFloat32 ? v.f32[0] : static_cast<float>(v.i64[0]);
    };
    *ep = kernels::Epilogue::clip(bound(1, -INFINITY), bound(2, INFINITY));
  } else {
    return false;
  }
  return true;
}

// x * HardSigmoid(x) with alpha 1/6, beta 1/2 is hardswish (how PyTorch
// exports it); x * Sigmoid(x) is SiLU (swish).
bool gate(const Node& node, kernels::Epilogue* ep) {
  if (node.op_type() == "Sigmoid") {
    *ep = kernels::Epilogue::silu();
    return true;
  }
  if (std::fabs(node.onnx.attr_float("alpha", 0.2f) - 1.f / 6.f) < 1e-6f &&
      std::fabs(node.onnx.attr_float("beta", 0.5f) - 0.5f) < 1e-6f) {
    *ep = kernels::Epilogue::hardswish();
    return true;
  }
  return false;
}

class ActivationStep : public Step {
 public:
  ActivationStep(kernels::Epilogue ep, int64_t n, int64_t in, int64_t out) : ep_(ep), n_(n), in_(in), out_(out) {}
  void run(float* arena, float*, const kernels::Parallel&) const override {
    kernels::apply_activation(ep_, arena + in_, nullptr, arena + out_, static_cast<size_t>(n_));
  }

 private:
  kernels::Epilogue ep_;
  int64_t n_, in_, out_;
};

std::unique_ptr<Step> make_activation_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  kernels::Epilogue ep;
  activation(a.graph, a.node, &ep);
  auto step = std::make_unique<ActivationStep>(ep, x.numel(), a.slot(a.input(0)).offset,
                                               a.slot(a.output).offset);
  step->kind = kernels::act_kind_name(ep.kind);
  return step;
}

constexpr OpDef kOps[] = {
    {.op_type = "Clip", .since_opset = 11, .infer = infer_unary, .make_step = make_activation_step, .activation = activation},
    {.op_type = "HardSigmoid", .since_opset = 6, .infer = infer_unary, .make_step = make_activation_step,
     .activation = activation, .gate = gate, .attributes = "alpha beta"},
    {.op_type = "HardSwish", .since_opset = 14, .infer = infer_unary, .make_step = make_activation_step,
     .activation = activation},
    {.op_type = "Relu", .since_opset = 6, .infer = infer_unary, .make_step = make_activation_step, .activation = activation},
    {.op_type = "Sigmoid", .since_opset = 6, .infer = infer_unary, .make_step = make_activation_step,
     .activation = activation, .gate = gate},
};

}  // namespace

std::span<const OpDef> ops::activation_ops() { return kOps; }

}  // namespace iciia::engine
