// Steps that move data between layouts: a Reshape-like node whose input or
// output is stored NHWC with real spatial extent (otherwise the planner
// aliases it, no step), and Concat.
#include <cstring>

#include "engine/steps.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

// Copies a value to its logical row-major order (NCHW for rank 4).
class CopyStep : public Step {
 public:
  CopyStep(int64_t in, bool in_nhwc, std::vector<int64_t> in_dims, int64_t out, bool out_nhwc,
           std::vector<int64_t> out_dims, int64_t numel)
      : in_(in), out_(out), in_nhwc_(in_nhwc), out_nhwc_(out_nhwc), in_dims_(std::move(in_dims)),
        out_dims_(std::move(out_dims)), numel_(numel) {}

  void run(float* arena, float* scratch) const override {
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

class ConcatStep : public Step {
 public:
  struct Part {
    int64_t offset;
    int64_t chunk;  // floats per outer index
  };
  ConcatStep(std::vector<Part> parts, int64_t outer, int64_t out) : parts_(std::move(parts)), outer_(outer), out_(out) {}
  void run(float* arena, float*) const override {
    float* dst = arena + out_;
    for (int64_t o = 0; o < outer_; ++o)
      for (const Part& p : parts_) {
        std::memcpy(dst, arena + p.offset + o * p.chunk, sizeof(float) * p.chunk);
        dst += p.chunk;
      }
  }

 private:
  std::vector<Part> parts_;
  int64_t outer_, out_;
};

}  // namespace

std::unique_ptr<Step> make_copy_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  const Value& y = a.value(a.output);
  const Slot& xs = a.slot(a.input(0));
  const Slot& ys = a.slot(a.output);
  auto step = std::make_unique<CopyStep>(xs.offset, xs.nhwc, x.dims, ys.offset, ys.nhwc, y.dims, x.numel());
  step->kind = "layout copy";
  return step;
}

std::unique_ptr<Step> make_concat_step(const StepArgs& a) {
  const Value& y = a.value(a.output);
  const Slot& ys = a.slot(a.output);
  const int64_t rank = static_cast<int64_t>(y.dims.size());
  int64_t axis = a.node.onnx.attr_int("axis", 0);
  if (axis < 0) axis += rank;
  // Storage dims and the concat axis in storage order.
  std::vector<int64_t> sdims = y.dims;
  int64_t saxis = axis;
  if (ys.nhwc) {
    sdims = {y.dims[0], y.dims[2], y.dims[3], y.dims[1]};
    const int64_t to_storage[4] = {0, 3, 1, 2};
    saxis = to_storage[axis];
  }
  int64_t outer = 1;
  for (int64_t i = 0; i < saxis; ++i) outer *= sdims[i];
  std::vector<ConcatStep::Part> parts;
  for (int id : a.node.inputs) {
    const Value& v = a.value(id);
    if (v.constant || a.slot(id).nhwc != ys.nhwc)
      throw Error(ErrorCode::kUnsupported, a.node.label() + ": concatenating " + v.describe() +
                                               " (a constant or another layout) is not supported");
    parts.push_back({a.slot(id).offset, v.numel() / outer});
  }
  auto step = std::make_unique<ConcatStep>(std::move(parts), outer, ys.offset);
  step->kind = "concat";
  return step;
}

}  // namespace iciia::engine
