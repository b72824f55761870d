// Shape and Constant: their outputs are always constants (the exporters'
// shape arithmetic starts here), so they never run.
#include <algorithm>

#include "engine/op_registry.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

void infer_shape(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const int64_t r = static_cast<int64_t>(x.dims.size());
  int64_t start = ctx.node().onnx.attr_int("start", 0), end = ctx.node().onnx.attr_int("end", r);
  start = std::clamp(start < 0 ? start + r : start, int64_t{0}, r);
  end = std::clamp(end < 0 ? end + r : end, int64_t{0}, r);
  std::vector<int64_t> dims(x.dims.begin() + start, x.dims.begin() + std::max(start, end));
  const int64_t rank = static_cast<int64_t>(dims.size());
  ctx.set_constant(0, {rank}, std::move(dims));
}

void infer_constant(InferContext& ctx) {
  const Node& n = ctx.node();
  if (const OnnxTensor* t = n.onnx.find_attribute("value") ? &n.onnx.find_attribute("value")->t : nullptr) {
    if (t->dtype == OnnxDataType::kFloat || t->dtype == OnnxDataType::kFloat16 || t->dtype == OnnxDataType::kDouble)
      ctx.set_constant(0, t->dims, t->to_floats());
    else
      ctx.set_constant(0, t->dims, t->to_int64s());
  } else if (const auto* a = n.onnx.find_attribute("value_float")) {
    ctx.set_constant(0, {}, std::vector<float>{a->f});
  } else if (const auto* a = n.onnx.find_attribute("value_floats")) {
    const int64_t size = static_cast<int64_t>(a->floats.size());
    ctx.set_constant(0, {size}, a->floats);
  } else if (const auto* a = n.onnx.find_attribute("value_int")) {
    ctx.set_constant(0, {}, std::vector<int64_t>{a->i});
  } else if (const auto* a = n.onnx.find_attribute("value_ints")) {
    const int64_t size = static_cast<int64_t>(a->ints.size());
    ctx.set_constant(0, {size}, a->ints);
  } else {
    const std::string attr = n.onnx.attributes.empty() ? std::string("no value attribute") : n.onnx.attributes[0].name;
    ctx.unsupported("attribute '" + attr + "' (the engine reads value, value_float(s) and value_int(s))");
  }
}

constexpr OpDef kOps[] = {
    {.op_type = "Constant",
     .since_opset = 11,
     .infer = infer_constant,
     .attributes = "value value_float value_floats value_int value_ints"},
    {.op_type = "Shape", .since_opset = 1, .infer = infer_shape, .attributes = "start end"},
};

}  // namespace

std::span<const OpDef> ops::shape_ops() { return kOps; }

}  // namespace iciia::engine
