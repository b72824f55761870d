#include "engine/op_registry.h"

#include "util/error.h"

namespace iciia::engine {

namespace {

// Opsets 11 to 17 are supported (graph.cpp); where semantics changed inside
// that range (Squeeze/Unsqueeze/Split axes moving to inputs at 13, Softmax's
// axis at 13) the infer function looks at the opset.
constexpr std::span<const OpDef> (*kFamilies[])() = {
    ops::activation_ops, ops::batchnorm_ops, ops::binary_ops, ops::conv_ops,    ops::matmul_ops,  ops::movement_ops,
    ops::pad_ops,        ops::pool_ops,      ops::reduce_ops, ops::reshape_ops, ops::shape_ops,   ops::softmax_ops,
};

}  // namespace

const OpDef* find_op(std::string_view op_type) {
  for (auto family : kFamilies)
    for (const OpDef& def : family())
      if (op_type == def.op_type) return &def;
  return nullptr;
}

std::vector<const OpDef*> all_ops() {
  std::vector<const OpDef*> out;
  for (auto family : kFamilies)
    for (const OpDef& def : family()) out.push_back(&def);
  return out;
}

const Value& InferContext::in(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required");
  return graph_.values[node_.inputs[i]];
}

Value& InferContext::out(size_t i) {
  if (i >= node_.outputs.size()) fail("expected at least " + std::to_string(i + 1) + " outputs");
  if (node_.outputs[i] < 0) fail("output " + std::to_string(i) + " is required, but the node leaves it unnamed");
  return graph_.values[node_.outputs[i]];
}

bool InferContext::inputs_constant() const {
  for (int id : node_.inputs)
    if (id >= 0 && !graph_.values[id].constant) return false;
  return true;
}

void InferContext::set_output(size_t i, ValueDType dtype, std::vector<int64_t> dims) {
  for (int64_t d : dims)
    if (d < 0) fail("inferred a negative dimension for output '" + out(i).name + "'");
  Value& v = out(i);
  v.dtype = dtype;
  v.dims = std::move(dims);
  v.shape_known = true;
  (void)v.numel();  // throws on overflow
}

void InferContext::set_constant(size_t i, std::vector<int64_t> dims, std::vector<float> data) {
  set_output(i, ValueDType::kFloat32, std::move(dims));
  Value& v = out(i);
  if (static_cast<int64_t>(data.size()) != v.numel()) fail("internal: folded size mismatch");
  v.constant = true;
  v.f32 = std::move(data);
}

void InferContext::set_constant(size_t i, std::vector<int64_t> dims, std::vector<int64_t> data) {
  set_output(i, ValueDType::kInt64, std::move(dims));
  Value& v = out(i);
  if (static_cast<int64_t>(data.size()) != v.numel()) fail("internal: folded size mismatch");
  v.constant = true;
  v.i64 = std::move(data);
}

void InferContext::fail(const std::string& what) const {
  throw Error(ErrorCode::kFormat, node_.label() + ": " + what);
}

void InferContext::unsupported(const std::string& what) const {
  throw Error(ErrorCode::kUnsupported, node_.label() + ": " + what + " is not supported (opset " +
                                           std::to_string(graph_.opset) + ")");
}

std::vector<int64_t> InferContext::constant_ints(size_t i, const char* what) const {
  const Value& v = in(i);
  if (!v.constant)
    fail(std::string(what) + " (input '" + v.name + "') must be known at load time; it is computed at run time");
  if (v.dtype == ValueDType::kInt64) return v.i64;
  std::vector<int64_t> out;
  for (float f : v.f32) {
    if (!representable_as_int64(f))
      fail(std::string(what) + " (input '" + v.name + "') holds " + std::to_string(f) + ", not an integer");
    out.push_back(static_cast<int64_t>(f));
  }
  return out;
}

int InferContext::axis(int64_t axis, size_t rank, const char* what) const {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r)
    fail(std::string(what) + " " + std::to_string(axis) + " is outside [" + std::to_string(-r) + ", " +
         std::to_string(r) + ")");
  return static_cast<int>(axis < 0 ? axis + r : axis);
}

void InferContext::require_float_inputs() const {
  for (size_t i = 0; i < num_inputs(); ++i)
    if (has_input(i) && in(i).dtype != ValueDType::kFloat32) fail("input " + in(i).describe() + " must be float");
}

void InferContext::require_rank(const Value& v, size_t rank) const {
  if (v.dims.size() != rank) fail("expects a rank-" + std::to_string(rank) + " input, got " + v.describe());
}

void InferContext::require_2d_window_input(const Value& x) const {
  if (x.dims.size() != 4)
    unsupported("a rank-" + std::to_string(x.dims.size()) + " input " + x.describe() + " (only 2-D NCHW windows run)");
}

}  // namespace iciia::engine
