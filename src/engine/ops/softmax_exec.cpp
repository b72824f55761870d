// Softmax over the last axis of a row-major value (classifier heads).
#include "engine/steps.h"
#include "kernels/ops.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

class SoftmaxStep : public Step {
 public:
  SoftmaxStep(int64_t rows, int64_t cols, int64_t in, int64_t out) : rows_(rows), cols_(cols), in_(in), out_(out) {}
  void run(float* arena, float*) const override {
    for (int64_t r = 0; r < rows_; ++r) {
      const float* src = arena + in_ + r * cols_;
      float* dst = arena + out_ + r * cols_;
      for (int64_t i = 0; i < cols_; ++i) dst[i] = src[i];
      kernels::softmax(dst, static_cast<int>(cols_));
    }
  }

 private:
  int64_t rows_, cols_, in_, out_;
};

}  // namespace

std::unique_ptr<Step> make_softmax_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  int64_t axis = a.node.onnx.attr_int("axis", a.graph.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  // Before opset 13 Softmax flattens to [prod(dims[:axis]), prod(dims[axis:])];
  // from 13 it normalises one axis: both are "last axis" when axis == rank - 1.
  const bool flattened_ok = a.graph.opset < 13;
  if ((!flattened_ok && axis != rank - 1) || a.slot(a.input(0)).nhwc)
    throw Error(ErrorCode::kUnsupported, a.node.label() + ": softmax is supported over the last axis of a " +
                                             "non-image tensor only, got axis " + std::to_string(axis) + " of " +
                                             x.describe());
  int64_t cols = 1;
  for (int64_t i = axis; i < rank; ++i) cols *= x.dims[i];
  auto step = std::make_unique<SoftmaxStep>(x.numel() / cols, cols, a.slot(a.input(0)).offset, a.slot(a.output).offset);
  step->kind = "softmax";
  return step;
}

}  // namespace iciia::engine
