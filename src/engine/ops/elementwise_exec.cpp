// Activations and broadcasting binary ops, in the operands' storage order.
#include <array>
#include <cmath>

#include "engine/steps.h"
#include "kernels/vec.h"
#include "util/error.h"

namespace iciia::engine {

bool activation_of(const Graph& graph, const Node& node, kernels::Epilogue* ep) {
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
      return v.dtype == DType::kFloat32 ? v.f32[0] : static_cast<float>(v.i64[0]);
    };
    *ep = kernels::Epilogue::clip(bound(1, -INFINITY), bound(2, INFINITY));
  } else {
    return false;
  }
  return true;
}

namespace {

class ActivationStep : public Step {
 public:
  ActivationStep(kernels::Epilogue ep, int64_t n, int64_t in, int64_t out) : ep_(ep), n_(n), in_(in), out_(out) {}
  void run(float* arena, float*) const override {
    kernels::apply_activation(ep_, arena + in_, nullptr, arena + out_, static_cast<size_t>(n_));
  }

 private:
  kernels::Epilogue ep_;
  int64_t n_, in_, out_;
};

enum class BinOp { kAdd, kSub, kMul, kDiv };

// Operands and output flattened to rank 4 in the output's storage order;
// each operand has a stride per axis (0 where it broadcasts).
struct Broadcast4 {
  std::array<int64_t, 4> dims{1, 1, 1, 1};
  std::array<int64_t, 4> stride_a{0, 0, 0, 0}, stride_b{0, 0, 0, 0};
};

// Logical strides of `v` as stored (NHWC or row-major), right-aligned to `rank`.
std::vector<int64_t> logical_strides(const Value& v, const Slot& s, size_t rank) {
  std::vector<int64_t> st(rank, 0);
  const size_t r = v.dims.size(), off = rank - r;
  std::vector<int64_t> own(r);
  if (s.nhwc) {  // stored [n][h][w][c]
    const int64_t c = v.dims[1], h = v.dims[2], w = v.dims[3];
    own = {h * w * c, 1, w * c, c};
  } else {
    int64_t acc = 1;
    for (size_t i = r; i-- > 0;) {
      own[i] = acc;
      acc *= v.dims[i];
    }
  }
  for (size_t i = 0; i < r; ++i) st[off + i] = v.dims[i] == 1 ? 0 : own[i];
  return st;
}

template <BinOp op>
inline float apply(float x, float y) {
  if constexpr (op == BinOp::kAdd) return x + y;
  if constexpr (op == BinOp::kSub) return x - y;
  if constexpr (op == BinOp::kMul) return x * y;
  return x / y;
}

template <BinOp op>
inline vec::f32x4 apply(vec::f32x4 x, vec::f32x4 y) {
  if constexpr (op == BinOp::kAdd) return vec::add(x, y);
  if constexpr (op == BinOp::kSub) return vec::sub(x, y);
  if constexpr (op == BinOp::kMul) return vec::mul(x, y);
  return vec::div(x, y);
}

// Innermost row: each operand advances by 1 (a vector) or 0 (a splat).
template <BinOp op>
void row(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n) {
  int64_t i = 0;
  if (sa == 1 && sb == 1) {
    for (; i + 4 <= n; i += 4) vec::store(y + i, apply<op>(vec::load(a + i), vec::load(b + i)));
  } else if (sa == 1 && sb == 0) {
    const vec::f32x4 vb = vec::splat(*b);
    for (; i + 4 <= n; i += 4) vec::store(y + i, apply<op>(vec::load(a + i), vb));
  } else if (sa == 0 && sb == 1) {
    const vec::f32x4 va = vec::splat(*a);
    for (; i + 4 <= n; i += 4) vec::store(y + i, apply<op>(va, vec::load(b + i)));
  }
  for (; i < n; ++i) y[i] = apply<op>(a[i * sa], b[i * sb]);
}

class BinaryStep : public Step {
 public:
  BinaryStep(BinOp op, Broadcast4 bc, int64_t a, int64_t b, int64_t out, std::vector<float> const_a,
             std::vector<float> const_b, kernels::Epilogue ep)
      : op_(op), bc_(bc), a_(a), b_(b), out_(out), const_a_(std::move(const_a)), const_b_(std::move(const_b)), ep_(ep) {}

  void run(float* arena, float*) const override {
    const float* a = const_a_.empty() ? arena + a_ : const_a_.data();
    const float* b = const_b_.empty() ? arena + b_ : const_b_.data();
    switch (op_) {
      case BinOp::kAdd: loop<BinOp::kAdd>(a, b, arena + out_); break;
      case BinOp::kSub: loop<BinOp::kSub>(a, b, arena + out_); break;
      case BinOp::kMul: loop<BinOp::kMul>(a, b, arena + out_); break;
      case BinOp::kDiv: loop<BinOp::kDiv>(a, b, arena + out_); break;
    }
  }

 private:
  template <BinOp op>
  void loop(const float* a, const float* b, float* y) const {
    const auto& d = bc_.dims;
    const auto& sa = bc_.stride_a;
    const auto& sb = bc_.stride_b;
    for (int64_t i0 = 0; i0 < d[0]; ++i0)
      for (int64_t i1 = 0; i1 < d[1]; ++i1)
        for (int64_t i2 = 0; i2 < d[2]; ++i2) {
          const float* ra = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
          const float* rb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
          row<op>(ra, sa[3], rb, sb[3], y, d[3]);
          if (ep_.kind != kernels::ActKind::kNone) kernels::apply_activation(ep_, y, static_cast<size_t>(d[3]));
          y += d[3];
        }
  }

  BinOp op_;
  Broadcast4 bc_;
  int64_t a_, b_, out_;
  std::vector<float> const_a_, const_b_;  // a constant operand, stored row-major
  kernels::Epilogue ep_;                  // fused activation, applied per row
};

}  // namespace

std::unique_ptr<Step> make_activation_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  auto step = std::make_unique<ActivationStep>(a.epilogue, x.numel(), a.slot(a.input(0)).offset,
                                               a.slot(a.output).offset);
  step->kind = kernels::act_kind_name(a.epilogue.kind);
  return step;
}

std::unique_ptr<Step> make_binary_step(const StepArgs& a) {
  const std::string& op = a.node.op_type();
  const BinOp bop = op == "Add" ? BinOp::kAdd : op == "Sub" ? BinOp::kSub : op == "Mul" ? BinOp::kMul : BinOp::kDiv;
  const Value& out = a.value(a.output);
  const Slot& os = a.slot(a.output);
  const size_t rank = out.dims.size();
  if (rank > 4)
    throw Error(ErrorCode::kUnsupported, a.node.label() + ": broadcasting beyond rank 4 is not supported");
  const Value& va = a.value(a.input(0));
  const Value& vb = a.value(a.input(1));
  auto sa = logical_strides(va, a.slot(a.input(0)), rank);
  auto sb = logical_strides(vb, a.slot(a.input(1)), rank);
  std::vector<int64_t> dims = out.dims;
  if (os.nhwc) {  // iterate in the output's storage order n, h, w, c
    const int perm[4] = {0, 2, 3, 1};
    std::vector<int64_t> d2(4), a2(4), b2(4);
    for (int i = 0; i < 4; ++i) {
      d2[i] = dims[perm[i]];
      a2[i] = sa[perm[i]];
      b2[i] = sb[perm[i]];
    }
    dims = d2;
    sa = a2;
    sb = b2;
  }
  Broadcast4 bc;
  const size_t off = 4 - dims.size();
  for (size_t i = 0; i < dims.size(); ++i) {
    bc.dims[off + i] = dims[i];
    bc.stride_a[off + i] = sa[i];
    bc.stride_b[off + i] = sb[i];
  }
  auto step = std::make_unique<BinaryStep>(bop, bc, va.constant ? 0 : a.slot(a.input(0)).offset,
                                           vb.constant ? 0 : a.slot(a.input(1)).offset,
                                           os.offset, va.constant ? va.f32 : std::vector<float>{},
                                           vb.constant ? vb.f32 : std::vector<float>{}, a.epilogue);
  step->kind = op + (a.epilogue.kind != kernels::ActKind::kNone
                         ? std::string(" +") + kernels::act_kind_name(a.epilogue.kind)
                         : std::string());
  return step;
}

}  // namespace iciia::engine
