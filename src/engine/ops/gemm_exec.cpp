// Gemm and MatMul with a constant 2-D right-hand side and row-major
// operands: one packed GEMM whose epilogue takes alpha, beta * C, a fused
// constant bias Add and activation. Everything else runs in matmul_exec.cpp.
#include "engine/steps.h"
#include "kernels/gemm.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

class GemmStep : public Step {
 public:
  GemmStep(kernels::PackedGemm gemm, int m, int64_t in, int64_t out) : gemm_(std::move(gemm)), m_(m), in_(in), out_(out) {}
  void run(float* arena, float*) const override {
    gemm_.run(arena + in_, m_, gemm_.k(), arena + out_, gemm_.n());
  }

 private:
  kernels::PackedGemm gemm_;
  int m_;
  int64_t in_, out_;
};

}  // namespace

std::unique_ptr<Step> make_gemm_step(const StepArgs& a) {
  const Node& n = a.node;
  const Value& A = a.value(a.input(0));
  const Value& B = a.value(a.input(1));
  auto fail = [&](const std::string& what) -> std::unique_ptr<Step> {
    throw Error(ErrorCode::kUnsupported, n.label() + ": " + what);
  };
  if (!B.constant) return fail("the right-hand side " + B.describe() + " must be constant (weights)");
  if (A.constant) return fail("a constant left-hand side is not supported");
  const bool gemm = n.op_type() == "Gemm";
  if (gemm && n.onnx.attr_int("transA", 0) != 0) return fail("transA = 1 is not supported");
  if (!gemm && B.dims.size() != 2) return fail("MatMul needs a 2-D constant right-hand side, got " + B.describe());
  const bool trans_b = gemm && n.onnx.attr_int("transB", 0) != 0;
  const float alpha = gemm ? n.onnx.attr_float("alpha", 1.f) : 1.f;
  const float beta = gemm ? n.onnx.attr_float("beta", 1.f) : 1.f;
  const int64_t k = trans_b ? B.dims[1] : B.dims[0], cols = trans_b ? B.dims[0] : B.dims[1];
  const int64_t m = A.numel() / k;
  std::vector<float> w(static_cast<size_t>(cols * k));
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t i = 0; i < k; ++i) w[j * k + i] = alpha * (trans_b ? B.f32[j * k + i] : B.f32[i * cols + j]);
  std::vector<float> bias(cols, 0.f);
  if (gemm && n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Value& C = a.value(n.inputs[2]);
    if (!C.constant) return fail("C " + C.describe() + " must be constant");
    if (C.numel() == 1)
      bias.assign(cols, beta * C.f32[0]);
    else if (C.numel() == cols)
      for (int64_t j = 0; j < cols; ++j) bias[j] = beta * C.f32[j];
    else
      return fail("C " + C.describe() + " must be a scalar or one value per output column");
  }
  if (a.bias_add) {  // an Add of a constant row vector after the product
    const Value& c = a.bias_constant();
    for (int64_t j = 0; j < cols; ++j) bias[j] += c.f32[c.numel() == 1 ? 0 : j];
  }
  if (a.slot(a.input(0)).nhwc) return fail("a rank-4 left-hand side is not supported");
  auto step = std::make_unique<GemmStep>(kernels::PackedGemm(static_cast<int>(k), static_cast<int>(cols), w, bias, a.epilogue),
                                         static_cast<int>(m), a.slot(a.input(0)).offset, a.slot(a.output).offset);
  step->kind = std::string("gemm") + (a.epilogue.kind != kernels::ActKind::kNone
                                          ? std::string(" +") + kernels::act_kind_name(a.epilogue.kind)
                                          : "");
  step->macs = m * k * cols;
  return step;
}

}  // namespace iciia::engine
