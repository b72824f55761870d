// Gemm and MatMul. With constant 2-D weights and row-major operands both
// run as one packed GEMM whose epilogue takes alpha, beta * C, a fused
// constant bias Add and activation (kernels/gemm.h). Everything else --
// batched operands with numpy broadcasting, a right-hand side computed at run
// time, transposed operands, any storage layout on either side, Gemm's C as a
// full matrix -- runs in the general step: per batch and output row, row =
// sum_k A[m][k] * B[k][:] (axpy over a contiguous B row; a strided B is
// packed into scratch first), then alpha * row + bias (+ beta * C), the fused
// activation, and a store in the output's storage order.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "engine/steps.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

void infer_gemm(InferContext& ctx) {
  ctx.require_float_inputs();
  const Value& a = ctx.in(0);
  const Value& b = ctx.in(1);
  ctx.require_rank(a, 2);
  ctx.require_rank(b, 2);
  const bool ta = ctx.node().onnx.attr_int("transA", 0) != 0, tb = ctx.node().onnx.attr_int("transB", 0) != 0;
  const int64_t m = ta ? a.dims[1] : a.dims[0], k = ta ? a.dims[0] : a.dims[1];
  const int64_t kb = tb ? b.dims[1] : b.dims[0], n = tb ? b.dims[0] : b.dims[1];
  if (k != kb) ctx.fail("inner sizes differ: " + a.describe() + " and " + b.describe());
  if (ctx.has_input(2)) {
    const Value& c = ctx.in(2);
    if (c.numel() != 1 && c.numel() != n && c.numel() != m * n)
      ctx.fail("C " + c.describe() + " does not broadcast to [" + std::to_string(m) + ", " + std::to_string(n) + "]");
  }
  ctx.set_output(0, ValueDType::kFloat32, {m, n});
}

void infer_matmul(InferContext& ctx) {
  ctx.require_float_inputs();
  const Value& a = ctx.in(0);
  const Value& b = ctx.in(1);
  if (a.dims.empty() || b.dims.empty()) ctx.fail("scalars are not valid MatMul operands");
  auto ad = a.dims, bd = b.dims;
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  if (ad.back() != bd[bd.size() - 2]) ctx.fail("inner sizes differ: " + a.describe() + " and " + b.describe());
  // Batch dims broadcast like numpy.
  const size_t rb = std::max(ad.size(), bd.size()) - 2;
  std::vector<int64_t> dims(rb);
  for (size_t i = 0; i < rb; ++i) {
    const int64_t x = i + ad.size() - 2 >= rb ? ad[i + ad.size() - 2 - rb] : 1;
    const int64_t y = i + bd.size() - 2 >= rb ? bd[i + bd.size() - 2 - rb] : 1;
    if (x != y && x != 1 && y != 1) ctx.fail("batch dims of " + a.describe() + " and " + b.describe() + " differ");
    dims[i] = std::max(x, y);
  }
  if (a.dims.size() > 1) dims.push_back(ad[ad.size() - 2]);
  if (b.dims.size() > 1) dims.push_back(bd.back());
  ctx.set_output(0, ValueDType::kFloat32, std::move(dims));
}

class GemmStep : public Step {
 public:
  GemmStep(kernels::PackedGemm gemm, int m, int64_t in, int64_t out) : gemm_(std::move(gemm)), m_(m), in_(in), out_(out) {}
  void run(float* arena, float*, const kernels::Parallel& par) const override {
    gemm_.run(arena + in_, m_, gemm_.k(), arena + out_, gemm_.n(), nullptr, 0, 0, par);
  }

 private:
  kernels::PackedGemm gemm_;
  int m_;
  int64_t in_, out_;
};


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
  step->kind = "gemm" + a.fused_suffix();
  return step;
}

struct Operand {
  bool constant = false;  // data in the step (row-major), else the arena
  int64_t offset = 0;
};

struct MatMulShape {
  int64_t m = 0, n = 0, k = 0;
  int64_t sam = 0, sak = 0, sbk = 0, sbn = 0, scm = 0, scn = 0;
};

class MatMulStep : public Step {
 public:
  MatMulStep(MatMulShape s, std::vector<std::array<int64_t, 3>> batches, Operand a, Operand b, int64_t out,
             std::vector<float> a_data, std::vector<float> b_data, float alpha, std::vector<float> bias,
             std::vector<float> c_full, kernels::Epilogue ep)
      : s_(s), batches_(std::move(batches)), a_(a), b_(b), out_(out), a_data_(std::move(a_data)),
        b_data_(std::move(b_data)), alpha_(alpha), bias_(std::move(bias)), c_full_(std::move(c_full)), ep_(ep) {}

  int64_t scratch_floats() const override { return s_.n + (packed_b() ? s_.k * s_.n : 0); }

  void run(float* arena, float* scratch, const kernels::Parallel&) const override {
    const float* a_base = a_.constant ? a_data_.data() : arena + a_.offset;
    const float* b_base = b_.constant ? b_data_.data() : arena + b_.offset;
    const int n = static_cast<int>(s_.n);
    float* row = scratch;
    float* pack = scratch + s_.n;
    for (const auto& [ao, bo, co] : batches_) {
      const float* A = a_base + ao;
      const float* B = b_base + bo;
      float* C = arena + out_ + co;
      int64_t ldb = s_.sbk;
      if (packed_b()) {
        for (int64_t k = 0; k < s_.k; ++k)
          for (int64_t j = 0; j < s_.n; ++j) pack[k * s_.n + j] = B[k * s_.sbk + j * s_.sbn];
        B = pack;
        ldb = s_.n;
      }
      for (int64_t m = 0; m < s_.m; ++m) {
        std::fill(row, row + s_.n, 0.f);
        for (int64_t k = 0; k < s_.k; ++k) kernels::axpy(A[m * s_.sam + k * s_.sak], B + k * ldb, row, n);
        for (int64_t j = 0; j < s_.n; ++j) {
          float v = alpha_ * row[j];
          if (!bias_.empty()) v += bias_[j];
          if (!c_full_.empty()) v += c_full_[m * s_.n + j];
          row[j] = v;
        }
        kernels::apply_activation(ep_, row, static_cast<size_t>(s_.n));
        float* dst = C + m * s_.scm;
        if (s_.scn == 1)
          std::memcpy(dst, row, sizeof(float) * s_.n);
        else
          for (int64_t j = 0; j < s_.n; ++j) dst[j * s_.scn] = row[j];
      }
    }
  }

 private:
  bool packed_b() const { return s_.sbn != 1 && s_.n > 1; }

  MatMulShape s_;
  std::vector<std::array<int64_t, 3>> batches_;
  Operand a_, b_;
  int64_t out_;
  std::vector<float> a_data_, b_data_;
  float alpha_;
  std::vector<float> bias_, c_full_;
  kernels::Epilogue ep_;
};

std::unique_ptr<Step> make_matmul_step(const StepArgs& a) {
  const Node& node = a.node;
  auto unsupported = [&](const std::string& what) -> std::unique_ptr<Step> {
    throw Error(ErrorCode::kUnsupported, node.label() + ": " + what);
  };
  const bool gemm = node.op_type() == "Gemm";
  const Value& va = a.value(a.input(0));
  const Value& vb = a.value(a.input(1));
  const Value& vy = a.value(a.output);
  if (va.constant && vb.constant) return unsupported("both operands constant (they should have folded)");
  auto ad = va.dims, bd = vb.dims;
  auto as = storage_strides(va, a.slot(a.input(0)));
  auto bs = storage_strides(vb, a.slot(a.input(1)));
  const bool a_vec = ad.size() == 1, b_vec = bd.size() == 1;
  if (a_vec) {  // [K] -> [1, K]
    ad.insert(ad.begin(), 1);
    as.insert(as.begin(), 0);
  }
  if (b_vec) {  // [K] -> [K, 1]
    bd.push_back(1);
    bs.push_back(0);
  }
  if (gemm) {  // rank 2 (checked at inference)
    if (node.onnx.attr_int("transA", 0) != 0) {
      std::swap(ad[0], ad[1]);
      std::swap(as[0], as[1]);
    }
    if (node.onnx.attr_int("transB", 0) != 0) {
      std::swap(bd[0], bd[1]);
      std::swap(bs[0], bs[1]);
    }
  }
  MatMulShape s;
  s.m = ad[ad.size() - 2];
  s.k = ad.back();
  s.n = bd.back();
  s.sam = as[as.size() - 2];
  s.sak = as.back();
  s.sbk = bs[bs.size() - 2];
  s.sbn = bs.back();
  const auto ys = storage_strides(vy, a.slot(a.output));
  const size_t rb = std::max(ad.size(), bd.size()) - 2;
  s.scm = a_vec ? 0 : ys[rb];
  s.scn = b_vec ? 0 : ys.back();
  if (s.n == 1) s.scn = 1;  // one column: the store is a single float either way

  // Batch offsets, numpy broadcasting right-aligned over the batch dims.
  std::vector<std::array<int64_t, 3>> batches{{0, 0, 0}};
  for (size_t i = 0; i < rb; ++i) {
    auto batch_stride = [&](const std::vector<int64_t>& dims, const std::vector<int64_t>& strides) -> int64_t {
      const size_t own = dims.size() - 2;
      if (i + own < rb) return 0;  // missing: broadcast
      const size_t axis = i + own - rb;
      return dims[axis] == 1 ? 0 : strides[axis];
    };
    const int64_t sa = batch_stride(ad, as), sb = batch_stride(bd, bs), sc = ys[i];
    std::vector<std::array<int64_t, 3>> next;
    for (const auto& b : batches)
      for (int64_t j = 0; j < vy.dims[i]; ++j) next.push_back({b[0] + j * sa, b[1] + j * sb, b[2] + j * sc});
    batches = std::move(next);
  }

  float alpha = 1.f;
  std::vector<float> bias, c_full;
  if (gemm) {
    alpha = node.onnx.attr_float("alpha", 1.f);
    const float beta = node.onnx.attr_float("beta", 1.f);
    if (a.has_input(2)) {
      const Value& c = a.value(a.input(2));
      if (!c.constant) return unsupported("C " + c.describe() + " computed at run time");
      // Broadcast C (rank <= 2, right-aligned) to [M, N].
      const int64_t c0 = c.dims.size() == 2 ? c.dims[0] : 1, c1 = c.dims.empty() ? 1 : c.dims.back();
      if (c.dims.size() > 2 || (c0 != 1 && c0 != s.m) || (c1 != 1 && c1 != s.n))
        throw Error(ErrorCode::kFormat, node.label() + ": C " + c.describe() + " does not broadcast to [" +
                                            std::to_string(s.m) + ", " + std::to_string(s.n) + "]");
      c_full.resize(static_cast<size_t>(s.m * s.n));
      for (int64_t m = 0; m < s.m; ++m)
        for (int64_t j = 0; j < s.n; ++j)
          c_full[m * s.n + j] = beta * c.f32[(c0 == 1 ? 0 : m) * c1 + (c1 == 1 ? 0 : j)];
    }
  }
  if (a.bias_add) {
    const Value& c = a.bias_constant();
    bias.assign(static_cast<size_t>(s.n), 0.f);
    for (int64_t j = 0; j < s.n; ++j) bias[j] = c.f32[c.numel() == 1 ? 0 : j];
  }

  const Operand oa{va.constant, va.constant ? 0 : a.slot(a.input(0)).offset};
  const Operand ob{vb.constant, vb.constant ? 0 : a.slot(a.input(1)).offset};
  auto step = std::make_unique<MatMulStep>(s, std::move(batches), oa, ob, a.slot(a.output).offset,
                                           va.constant ? va.f32 : std::vector<float>{},
                                           vb.constant ? vb.f32 : std::vector<float>{}, alpha, std::move(bias),
                                           std::move(c_full), a.epilogue);
  step->kind = "matmul" + a.fused_suffix();
  return step;
}

// Whether a Gemm / MatMul runs as the packed GEMM (constant 2-D weights,
// row-major operands, Gemm's C a bias row) rather than the general step.
bool packed(const StepArgs& a) {
  const Node& n = a.node;
  const Value& x = a.in(0);
  const Value& b = a.in(1);
  if (x.constant || !b.constant || b.dims.size() != 2) return false;
  if (!storage_is_logical(x, a.slot(n.inputs[0])) || !storage_is_logical(a.out(), a.slot(a.output))) return false;
  if (n.op_type() != "Gemm") return true;
  if (n.onnx.attr_int("transA", 0) != 0) return false;
  if (!a.has_input(2)) return true;
  const Value& c = a.in(2);
  const int64_t cols = n.onnx.attr_int("transB", 0) != 0 ? b.dims[0] : b.dims[1];
  return c.constant && (c.numel() == 1 || (c.numel() == cols && c.dims.back() == cols));
}

std::unique_ptr<Step> make_step(const StepArgs& a) { return packed(a) ? make_gemm_step(a) : make_matmul_step(a); }

// The reduction length.
int64_t matmul_macs(const Graph& g, const Node& n) {
  const auto& a = g.values[n.inputs[0]].dims;
  const bool trans_a = n.op_type() == "Gemm" && n.onnx.attr_int("transA", 0) != 0;
  return a.empty() ? 0 : trans_a ? a.front() : a.back();
}

constexpr OpDef kOps[] = {
    {.op_type = "Gemm",
     .since_opset = 11,
     .infer = infer_gemm,
     .make_step = make_step,
     .macs_per_output = matmul_macs,
     .flags = kConstantData,
     .absorbs = Absorbs::kGemmEpilogue,
     .attributes = "alpha beta transA transB"},
    {.op_type = "MatMul",
     .since_opset = 9,
     .infer = infer_matmul,
     .make_step = make_step,
     .macs_per_output = matmul_macs,
     .flags = kConstantData,
     .absorbs = Absorbs::kGemmEpilogue},
};

}  // namespace

std::span<const OpDef> ops::matmul_ops() { return kOps; }

}  // namespace iciia::engine
