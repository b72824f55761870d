// Elementwise ops: numpy broadcasting for the binary ones, folded when both
// sides are constant (shape arithmetic divides and multiplies sizes).
#include <algorithm>

#include "engine/op_registry.h"

namespace iciia::engine::ops {

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

}  // namespace

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
  if (a.dtype == DType::kInt64) {
    auto out = fold(a.i64, a, b.i64, b, dims, [&](int64_t x, int64_t y) -> int64_t {
      if (op == "Add") return x + y;
      if (op == "Sub") return x - y;
      if (op == "Mul") return x * y;
      if (y == 0) ctx.fail("integer division by zero while folding");
      // ONNX integer Div truncates like C.
      return x / y;
    });
    ctx.set_constant(0, std::move(dims), std::move(out));
  } else {
    auto out = fold(a.f32, a, b.f32, b, dims, [&](float x, float y) {
      return op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y;
    });
    ctx.set_constant(0, std::move(dims), std::move(out));
  }
}

void infer_unary(InferContext& ctx) {
  const Value& x = ctx.in(0);
  if (x.dtype != DType::kFloat32) ctx.fail("expects a float input, got " + x.describe());
  if (ctx.node().op_type() == "Clip") {
    // Opset 11+: bounds are optional inputs and must be known at load time
    // (they become the fused epilogue's constants).
    for (size_t i = 1; i <= 2; ++i)
      if (ctx.has_input(i) && ctx.in(i).dtype != DType::kFloat32) ctx.fail("Clip bounds must be float");
    if (ctx.has_input(1)) (void)ctx.constant_ints(1, "min");
    if (ctx.has_input(2)) (void)ctx.constant_ints(2, "max");
  }
  ctx.set_output(0, DType::kFloat32, x.dims);
}

}  // namespace iciia::engine::ops
