// Softmax over any axis, in the storage order of its operand. Opset 13 and
// later normalise one axis; before 13 the input is viewed as 2-D
// [prod(dims[:axis]), prod(dims[axis:])] and each row normalised. Either way
// a "group" is a set of storage offsets, normalised together: when a group is
// contiguous (the last axis of a row-major value, the channels of an NHWC
// one) the kernel runs in place, otherwise through a gathered copy.
#include <algorithm>
#include <string>

#include "engine/steps.h"
#include "kernels/ops.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

void infer_softmax(InferContext& ctx) {
  const Value& x = ctx.in(0);
  ctx.axis(ctx.node().onnx.attr_int("axis", ctx.opset() >= 13 ? -1 : 1), x.dims.size(), "axis");
  ctx.set_output(0, ValueDType::kFloat32, x.dims);
}

class SoftmaxStep : public Step {
 public:
  SoftmaxStep(std::vector<int64_t> bases, std::vector<int64_t> group, int64_t in, int64_t out)
      : bases_(std::move(bases)), group_(std::move(group)), in_(in), out_(out) {
    contiguous_ = true;
    for (size_t g = 0; g < group_.size(); ++g) contiguous_ = contiguous_ && group_[g] == static_cast<int64_t>(g);
  }
  void run(float* arena, float* scratch, const kernels::Parallel&) const override {
    const int n = static_cast<int>(group_.size());
    for (int64_t base : bases_) {
      const float* src = arena + in_ + base;
      float* dst = arena + out_ + base;
      if (contiguous_) {
        for (int i = 0; i < n; ++i) dst[i] = src[i];
        kernels::softmax(dst, n);
      } else {
        for (int i = 0; i < n; ++i) scratch[i] = src[group_[i]];
        kernels::softmax(scratch, n);
        for (int i = 0; i < n; ++i) dst[group_[i]] = scratch[i];
      }
    }
  }
  int64_t scratch_floats() const override { return contiguous_ ? 0 : static_cast<int64_t>(group_.size()); }

 private:
  std::vector<int64_t> bases_, group_;
  int64_t in_, out_;
  bool contiguous_;
};

std::unique_ptr<Step> make_softmax_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  if (x.constant) throw Error(ErrorCode::kUnsupported, a.node.label() + ": softmax of a constant " + x.describe());
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  int64_t axis = a.node.onnx.attr_int("axis", a.graph.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;  // checked at inference
  const bool one_axis = a.graph.opset >= 13;
  const Slot& xs = a.slot(a.input(0));
  const Slot& ys = a.slot(a.output);
  if (xs.nhwc != ys.nhwc)
    throw Error(ErrorCode::kUnsupported, a.node.label() + ": input and output stored in different layouts");
  const auto strides = storage_strides(x, xs);
  std::vector<int64_t> outer_dims, outer_strides, group_dims, group_strides;
  for (int64_t d = 0; d < rank; ++d) {
    const bool in_group = one_axis ? d == axis : d >= axis;
    (in_group ? group_dims : outer_dims).push_back(x.dims[d]);
    (in_group ? group_strides : outer_strides).push_back(strides[d]);
  }
  auto group = index_offsets(group_dims, group_strides);
  // A group that is a contiguous block in another order (NHWC, softmax over
  // C, H, W before opset 13) is normalised the same: order within a group
  // does not matter, so sort it.
  std::sort(group.begin(), group.end());
  auto step = std::make_unique<SoftmaxStep>(index_offsets(outer_dims, outer_strides), std::move(group), xs.offset, ys.offset);
  step->kind = "softmax";
  return step;
}

constexpr OpDef kOps[] = {
    {.op_type = "Softmax", .since_opset = 11, .infer = infer_softmax, .make_step = make_softmax_step, .attributes = "axis"},
};

}  // namespace

std::span<const OpDef> ops::softmax_ops() { return kOps; }

}  // namespace iciia::engine
