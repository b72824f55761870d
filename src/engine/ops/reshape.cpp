// The reshape family: Reshape, Flatten, Squeeze, Unsqueeze, Identity,
// Dropout (inference) and Cast. Each output is its input's data under another
// shape (a Cast that reaches the plan is float -> float: integer values never
// run), so the planner aliases it when both sides are in logical order or the
// storage is unchanged, and otherwise (an NHWC side with real spatial extent)
// the step copies through the logical order. Folded when the input is constant.
#include <cstring>

#include "engine/steps.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

// Same data, new dims: constant if the input is.
void pass_through(InferContext& ctx, std::vector<int64_t> dims) {
  const Value& x = ctx.in(0);
  if (x.constant) {
    if (x.dtype == ValueDType::kInt64)
      ctx.set_constant(0, std::move(dims), x.i64);
    else
      ctx.set_constant(0, std::move(dims), x.f32);
  } else {
    ctx.set_output(0, x.dtype, std::move(dims));
  }
}

std::vector<int64_t> axes_of(InferContext& ctx, size_t input, const char* what) {
  // Opset 13 moved `axes` from an attribute to an input.
  if (ctx.opset() >= 13) return ctx.has_input(input) ? ctx.constant_ints(input, what) : std::vector<int64_t>{};
  return ctx.node().onnx.attr_ints("axes");
}

void infer_cast(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const int64_t to = ctx.node().onnx.attr_int("to", -1);
  ValueDType dtype;
  switch (static_cast<OnnxDataType>(to)) {
    case OnnxDataType::kFloat: dtype = ValueDType::kFloat32; break;
    case OnnxDataType::kInt64:
    case OnnxDataType::kInt32: dtype = ValueDType::kInt64; break;
    default: ctx.unsupported("cast to " + onnx_dtype_name(static_cast<OnnxDataType>(to)) + " (to = " + std::to_string(to) + ")");
  }
  if (!x.constant) {
    ctx.set_output(0, dtype, x.dims);
    return;
  }
  if (dtype == ValueDType::kFloat32) {
    std::vector<float> out = x.f32;
    if (x.dtype == ValueDType::kInt64) out.assign(x.i64.begin(), x.i64.end());
    ctx.set_constant(0, x.dims, std::move(out));
  } else {
    std::vector<int64_t> out = x.i64;
    if (x.dtype == ValueDType::kFloat32) {
      out.clear();
      for (float f : x.f32) {
        if (!representable_as_int64(f)) ctx.fail("cannot cast " + std::to_string(f) + " to an integer");
        out.push_back(static_cast<int64_t>(f));
      }
    }
    ctx.set_constant(0, x.dims, std::move(out));
  }
}

void infer_unsqueeze(InferContext& ctx) {
  const Value& x = ctx.in(0);
  auto axes = axes_of(ctx, 1, "axes");
  const size_t rank = x.dims.size() + axes.size();
  std::vector<bool> inserted(rank, false);
  for (int64_t a : axes) {
    const int ax = ctx.axis(a, rank, "axis");
    if (inserted[ax]) ctx.fail("axis " + std::to_string(a) + " is given twice");
    inserted[ax] = true;
  }
  std::vector<int64_t> dims;
  size_t k = 0;
  for (size_t i = 0; i < rank; ++i) dims.push_back(inserted[i] ? 1 : x.dims[k++]);
  pass_through(ctx, std::move(dims));
}

void infer_squeeze(InferContext& ctx) {
  const Value& x = ctx.in(0);
  auto axes = axes_of(ctx, 1, "axes");
  std::vector<bool> drop(x.dims.size(), false);
  if (axes.empty()) {
    for (size_t i = 0; i < x.dims.size(); ++i) drop[i] = x.dims[i] == 1;
  } else {
    for (int64_t a : axes) {
      const int ax = ctx.axis(a, x.dims.size(), "axis");
      if (x.dims[ax] != 1) ctx.fail("cannot squeeze axis " + std::to_string(a) + " of " + x.describe());
      drop[ax] = true;
    }
  }
  std::vector<int64_t> dims;
  for (size_t i = 0; i < x.dims.size(); ++i)
    if (!drop[i]) dims.push_back(x.dims[i]);
  pass_through(ctx, std::move(dims));
}

void infer_reshape(InferContext& ctx) {
  const Value& x = ctx.in(0);
  auto shape = ctx.constant_ints(1, "the target shape");
  const bool allowzero = ctx.node().onnx.attr_int("allowzero", 0) != 0;
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowzero) {
      if (i >= x.dims.size()) ctx.fail("shape entry " + std::to_string(i) + " copies a dimension " + x.describe() + " lacks");
      shape[i] = x.dims[i];
    }
    if (shape[i] == -1) {
      if (infer_at >= 0) ctx.fail("more than one -1 in the target shape");
      infer_at = static_cast<int>(i);
    } else if (shape[i] < 0) {
      ctx.fail("negative target dimension " + std::to_string(shape[i]));
    } else {
      if (shape[i] != 0 && known > std::numeric_limits<int64_t>::max() / shape[i])
        ctx.fail("the target shape has more elements than fit in 64 bits");
      known *= shape[i];
    }
  }
  const int64_t n = x.numel();
  if (infer_at >= 0) {
    if (known == 0 || n % known) ctx.fail("cannot reshape " + x.describe() + ": sizes do not divide");
    shape[infer_at] = n / known;
  } else if (known != n) {
    ctx.fail("cannot reshape " + x.describe() + " to " + std::to_string(known) + " elements");
  }
  pass_through(ctx, std::move(shape));
}

void infer_flatten(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const int64_t r = static_cast<int64_t>(x.dims.size());
  int64_t axis = ctx.node().onnx.attr_int("axis", 1);
  if (axis < -r || axis > r) ctx.fail("axis " + std::to_string(axis) + " is outside [-rank, rank]");
  if (axis < 0) axis += r;
  int64_t a = 1, b = 1;
  for (int64_t i = 0; i < r; ++i) (i < axis ? a : b) *= x.dims[i];
  pass_through(ctx, {a, b});
}

void infer_identity(InferContext& ctx) {
  // Dropout in inference is the identity; its optional mask output is unused.
  pass_through(ctx, ctx.in(0).dims);
  if (ctx.node().outputs.size() > 1 && ctx.node().outputs[1] >= 0) ctx.unsupported("the Dropout mask output");
  // Opset 12+: training_mode (input 2) true would make Dropout random.
  if (ctx.node().op_type() == "Dropout" && ctx.has_input(2)) {
    const auto mode = ctx.constant_ints(2, "training_mode");
    if (!mode.empty() && mode[0] != 0) ctx.unsupported("training_mode = 1");
  }
}

// Copies a value to its logical row-major order (NCHW for rank 4).
class CopyStep : public Step {
 public:
  CopyStep(int64_t in, bool in_nhwc, std::vector<int64_t> in_dims, int64_t out, bool out_nhwc,
           std::vector<int64_t> out_dims, int64_t numel)
      : in_(in), out_(out), in_nhwc_(in_nhwc), out_nhwc_(out_nhwc), in_dims_(std::move(in_dims)),
        out_dims_(std::move(out_dims)), numel_(numel) {}

  void run(float* arena, float* scratch, const kernels::Parallel&) const override {
    const float* src = arena + in_;
    float* dst = arena + out_;
    // Logical order first (into scratch when the output needs another pass).
    float* logical = out_nhwc_ ? scratch : dst;
    if (in_nhwc_)
      nhwc_to_nchw(src, int(in_dims_[0]), int(in_dims_[2]), int(in_dims_[3]), int(in_dims_[1]), logical);
    else
      std::memcpy(logical, src, sizeof(float) * numel_);
    if (out_nhwc_) nchw_to_nhwc(logical, int(out_dims_[0]), int(out_dims_[1]), int(out_dims_[2]), int(out_dims_[3]), dst);
  }
  int64_t scratch_floats() const override { return out_nhwc_ ? numel_ : 0; }

 private:
  int64_t in_, out_;
  bool in_nhwc_, out_nhwc_;
  std::vector<int64_t> in_dims_, out_dims_;
  int64_t numel_;
};

std::unique_ptr<Step> make_copy_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  const Value& y = a.value(a.output);
  const Slot& xs = a.slot(a.input(0));
  const Slot& ys = a.slot(a.output);
  auto step = std::make_unique<CopyStep>(xs.offset, xs.nhwc, x.dims, ys.offset, ys.nhwc, y.dims, x.numel());
  step->kind = "layout copy";
  return step;
}

constexpr OpDef kOps[] = {
    {.op_type = "Cast", .since_opset = 9, .infer = infer_cast, .make_step = make_copy_step, .flags = kReshapeLike,
     .attributes = "to"},
    {.op_type = "Dropout", .since_opset = 7, .infer = infer_identity, .make_step = make_copy_step, .flags = kReshapeLike,
     .attributes = "ratio seed"},
    {.op_type = "Flatten", .since_opset = 11, .infer = infer_flatten, .make_step = make_copy_step, .flags = kReshapeLike,
     .attributes = "axis"},
    {.op_type = "Identity", .since_opset = 1, .infer = infer_identity, .make_step = make_copy_step, .flags = kReshapeLike},
    {.op_type = "Reshape", .since_opset = 5, .infer = infer_reshape, .make_step = make_copy_step, .flags = kReshapeLike,
     .attributes = "allowzero"},
    {.op_type = "Squeeze", .since_opset = 11, .infer = infer_squeeze, .make_step = make_copy_step, .flags = kReshapeLike,
     .attributes = "axes"},
    {.op_type = "Unsqueeze", .since_opset = 11, .infer = infer_unsqueeze, .make_step = make_copy_step,
     .flags = kReshapeLike, .attributes = "axes"},
};

}  // namespace

std::span<const OpDef> ops::reshape_ops() { return kOps; }

}  // namespace iciia::engine
