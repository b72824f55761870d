// Add, Sub, Mul, Div with numpy broadcasting: folded when both sides are
// constant (shape arithmetic divides and multiplies sizes), otherwise one
// step in the output's storage order with a fused activation.
#include <algorithm>
#include <array>
#include <cstdint>

#include "engine/steps.h"
#include "kernels/vec.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

std::vector<int64_t> broadcast(InferContext& ctx, const Value& a, const Value& b) {
  const size_t r = std::max(a.dims.size(), b.dims.size());
  std::vector<int64_t> out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i + a.dims.size() >= r ? a.dims[i + a.dims.size() - r] : 1;
    const int64_t db = i + b.dims.size() >= r ? b.dims[i + b.dims.size() - r] : 1;
    if (da != db && da != 1 && db != 1) ctx.fail(a.describe() + " and " + b.describe() + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Flat index into `v` for output position `pos` under broadcasting.
int64_t source_index(const Value& v, const std::vector<int64_t>& out_dims, const std::vector<int64_t>& pos) {
  const size_t off = out_dims.size() - v.dims.size();
  int64_t idx = 0;
  for (size_t d = 0; d < v.dims.size(); ++d) idx = idx * v.dims[d] + (v.dims[d] == 1 ? 0 : pos[d + off]);
  return idx;
}

template <typename T, typename F>
std::vector<T> fold(const std::vector<T>& a, const Value& va, const std::vector<T>& b, const Value& vb,
                    const std::vector<int64_t>& dims, F f) {
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  std::vector<T> out(total);
  std::vector<int64_t> pos(dims.size(), 0);
  for (int64_t k = 0; k < total; ++k) {
    out[k] = f(a[source_index(va, dims, pos)], b[source_index(vb, dims, pos)]);
    for (int d = static_cast<int>(dims.size()) - 1; d >= 0 && ++pos[d] == dims[d]; --d) pos[d] = 0;
  }
  return out;
}

void infer_binary(InferContext& ctx) {
  const Value& a = ctx.in(0);
  const Value& b = ctx.in(1);
  if (a.dtype != b.dtype) ctx.fail(a.describe() + " and " + b.describe() + " differ in type");
  auto dims = broadcast(ctx, a, b);
  if (!(a.constant && b.constant)) {
    ctx.set_output(0, a.dtype, std::move(dims));
    return;
  }
  const std::string& op = ctx.node().op_type();
  if (a.dtype == ValueDType::kInt64) {
    // Shape arithmetic on sizes from an untrusted file: overflow is an
    // error, not undefined behaviour.
    auto out = fold(a.i64, a, b.i64, b, dims, [&](int64_t x, int64_t y) -> int64_t {
      int64_t r = 0;
      const bool overflow = op == "Add"   ? __builtin_add_overflow(x, y, &r)
                            : op == "Sub" ? __builtin_sub_overflow(x, y, &r)
                            : op == "Mul" ? __builtin_mul_overflow(x, y, &r)
                                          : false;
      if (op == "Div") {
        if (y == 0) ctx.fail("integer division by zero while folding");
        if (x == INT64_MIN && y == -1) ctx.fail("integer division INT64_MIN / -1 overflows while folding");
        return x / y;  // ONNX integer Div truncates like C
      }
      if (overflow)
        ctx.fail("integer " + op + " of " + std::to_string(x) + " and " + std::to_string(y) +
                 " overflows 64 bits while folding");
      return r;
    });
    ctx.set_constant(0, std::move(dims), std::move(out));
  } else {
    auto out = fold(a.f32, a, b.f32, b, dims, [&](float x, float y) {
      return op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y;
    });
    ctx.set_constant(0, std::move(dims), std::move(out));
  }
}

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

  // Rows of the innermost axis are independent: ranges of them go to the
  // threads (memory-bound, but the rows a thread takes are mostly those its
  // core just wrote in the layer before).
  void run(float* arena, float*, const kernels::Parallel& par) const override {
    const float* a = const_a_.empty() ? arena + a_ : const_a_.data();
    const float* b = const_b_.empty() ? arena + b_ : const_b_.data();
    const auto& d = bc_.dims;
    par.for_ranges(d[0] * d[1] * d[2], d[3] * 4, 1, [&](int64_t begin, int64_t end, int) {
      switch (op_) {
        case BinOp::kAdd: loop<BinOp::kAdd>(a, b, arena + out_, begin, end); break;
        case BinOp::kSub: loop<BinOp::kSub>(a, b, arena + out_, begin, end); break;
        case BinOp::kMul: loop<BinOp::kMul>(a, b, arena + out_, begin, end); break;
        case BinOp::kDiv: loop<BinOp::kDiv>(a, b, arena + out_, begin, end); break;
      }
    });
  }

 private:
  // Rows [begin, end) of the d[0] x d[1] x d[2] rows.
  template <BinOp op>
  void loop(const float* a, const float* b, float* y, int64_t begin, int64_t end) const {
    const auto& d = bc_.dims;
    const auto& sa = bc_.stride_a;
    const auto& sb = bc_.stride_b;
    y += begin * d[3];
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i0 = r / (d[1] * d[2]), i1 = r / d[2] % d[1], i2 = r % d[2];
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
  step->kind = op + a.fused_suffix();
  return step;
}

constexpr OpDef kOps[] = {
    {.op_type = "Add",
     .since_opset = 7,
     .infer = infer_binary,
     .make_step = make_binary_step,
     .flags = kConstantData,
     .absorbs = Absorbs::kActivation,
     .role = FuseRole::kAdd},
    {.op_type = "Div",
     .since_opset = 7,
     .infer = infer_binary,
     .make_step = make_binary_step,
     .flags = kConstantData,
     .absorbs = Absorbs::kActivation},
    {.op_type = "Mul",
     .since_opset = 7,
     .infer = infer_binary,
     .make_step = make_binary_step,
     .flags = kConstantData,
     .absorbs = Absorbs::kActivation,
     .role = FuseRole::kGateProduct},
    {.op_type = "Sub",
     .since_opset = 7,
     .infer = infer_binary,
     .make_step = make_binary_step,
     .flags = kConstantData,
     .absorbs = Absorbs::kActivation},
};

}  // namespace

std::span<const OpDef> ops::binary_ops() { return kOps; }

}  // namespace iciia::engine
