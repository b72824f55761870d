// MatMul and Gemm in general: batched operands with numpy broadcasting, a
// right-hand side computed at run time, transposed operands (Gemm transA /
// transB), any storage layout on either side, and Gemm's C as a full matrix.
// (A Gemm / MatMul with constant 2-D weights and row-major operands takes the
// packed GEMM of gemm_exec.cpp instead.)
//
// Per batch and output row: row = sum_k A[m][k] * B[k][:] (axpy over a
// contiguous B row; a strided B is packed into scratch first), then
// alpha * row + bias (+ beta * C), the fused activation, and a store in the
// output's storage order.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "engine/steps.h"
#include "kernels/ops.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

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

  void run(float* arena, float* scratch) const override {
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

}  // namespace

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
  const int64_t macs = static_cast<int64_t>(batches.size()) * s.m * s.n * s.k;
  auto step = std::make_unique<MatMulStep>(s, std::move(batches), oa, ob, a.slot(a.output).offset,
                                           va.constant ? va.f32 : std::vector<float>{},
                                           vb.constant ? vb.f32 : std::vector<float>{}, alpha, std::move(bias),
                                           std::move(c_full), a.epilogue);
  step->kind = std::string("matmul") + (a.epilogue.kind != kernels::ActKind::kNone
                                             ? std::string(" +") + kernels::act_kind_name(a.epilogue.kind)
                                             : "");
  step->macs = macs;
  return step;
}

}  // namespace iciia::engine
