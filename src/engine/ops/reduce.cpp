// ReduceMean over any axes (keepdims 0 / 1) and GlobalAveragePool (the mean
// over every axis after the channels). The mean over H, W of an NHWC value is
// the global-average-pool kernel (vectorised over channels); other axis sets
// run a generic loop over precomputed offsets.
#include <algorithm>
#include <string>

#include "engine/steps.h"
#include "kernels/pool.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

void infer_global_pool(InferContext& ctx) {
  const Value& x = ctx.in(0);
  if (x.dims.size() < 3) ctx.fail("expects at least rank 3, got " + x.describe());
  auto dims = x.dims;
  std::fill(dims.begin() + 2, dims.end(), 1);
  ctx.set_output(0, ValueDType::kFloat32, std::move(dims));
}

void infer_reduce_mean(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const bool keep = ctx.node().onnx.attr_int("keepdims", 1) != 0;
  auto axes = ctx.node().onnx.attr_ints("axes");
  const int64_t noop = ctx.node().onnx.attr_int("noop_with_empty_axes", 0);
  if (noop != 0) ctx.unsupported("noop_with_empty_axes = " + std::to_string(noop));
  if (ctx.has_input(1)) ctx.unsupported("axes given as an input (opset 18 form)");
  std::vector<bool> reduce(x.dims.size(), axes.empty());
  for (int64_t a : axes) reduce[ctx.axis(a, x.dims.size(), "axis")] = true;
  std::vector<int64_t> dims;
  for (size_t i = 0; i < x.dims.size(); ++i) {
    if (!reduce[i])
      dims.push_back(x.dims[i]);
    else if (keep)
      dims.push_back(1);
  }
  ctx.set_output(0, ValueDType::kFloat32, std::move(dims));
}

class GlobalAverageStep : public Step {
 public:
  GlobalAverageStep(int n, int h, int w, int c, int64_t in, int64_t out) : n_(n), h_(h), w_(w), c_(c), in_(in), out_(out) {}
  void run(float* arena, float*, const kernels::Parallel& par) const override {
    kernels::global_avg_pool(arena + in_, n_, h_, w_, c_, arena + out_, par);
  }

 private:
  int n_, h_, w_, c_;
  int64_t in_, out_;
};

// out[out_offsets[e]] = mean over g of in[bases[e] + group[g]].
class ReduceMeanStep : public Step {
 public:
  ReduceMeanStep(std::vector<int64_t> bases, std::vector<int64_t> out_offsets, std::vector<int64_t> group, int64_t in,
                 int64_t out)
      : bases_(std::move(bases)), out_offsets_(std::move(out_offsets)), group_(std::move(group)), in_(in), out_(out) {}
  void run(float* arena, float*, const kernels::Parallel&) const override {
    const float* x = arena + in_;
    float* y = arena + out_;
    const float scale = group_.empty() ? 0.f : 1.f / static_cast<float>(group_.size());
    for (size_t e = 0; e < bases_.size(); ++e) {
      float s = 0.f;
      for (int64_t g : group_) s += x[bases_[e] + g];
      y[out_offsets_[e]] = s * scale;
    }
  }

 private:
  std::vector<int64_t> bases_, out_offsets_, group_;
  int64_t in_, out_;
};

std::unique_ptr<Step> make_reduce_mean_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  const Value& y = a.value(a.output);
  if (x.constant) throw Error(ErrorCode::kUnsupported, a.node.label() + ": reducing a constant " + x.describe());
  const size_t r = x.dims.size();
  std::vector<bool> reduce(r, false);
  bool keep = true;
  if (a.node.op_type() == "GlobalAveragePool") {
    for (size_t d = 2; d < r; ++d) reduce[d] = true;
  } else {
    keep = a.node.onnx.attr_int("keepdims", 1) != 0;
    const auto axes = a.node.onnx.attr_ints("axes");
    if (axes.empty()) reduce.assign(r, true);
    for (int64_t ax : axes) reduce[ax < 0 ? ax + static_cast<int64_t>(r) : ax] = true;  // checked at inference
  }
  const Slot& xs = a.slot(a.input(0));
  std::unique_ptr<Step> step;
  if (xs.nhwc && r == 4 && !reduce[0] && !reduce[1] && reduce[2] && reduce[3]) {
    // [N, C, 1, 1] stored NHWC and [N, C] row-major are both [n][c].
    step = std::make_unique<GlobalAverageStep>(int(x.dims[0]), int(x.dims[2]), int(x.dims[3]), int(x.dims[1]),
                                               xs.offset, a.slot(a.output).offset);
    step->kind = a.node.op_type() == "ReduceMean" ? "mean over h, w" : "GlobalAveragePool";
    return step;
  }
  const auto in_strides = storage_strides(x, xs);
  const auto out_strides = storage_strides(y, a.slot(a.output));
  std::vector<int64_t> kept_dims, kept_in, kept_out, red_dims, red_in;
  size_t out_axis = 0;
  for (size_t d = 0; d < r; ++d) {
    if (reduce[d]) {
      red_dims.push_back(x.dims[d]);
      red_in.push_back(in_strides[d]);
      if (keep) ++out_axis;
    } else {
      kept_dims.push_back(x.dims[d]);
      kept_in.push_back(in_strides[d]);
      kept_out.push_back(out_strides[out_axis++]);
    }
  }
  step = std::make_unique<ReduceMeanStep>(index_offsets(kept_dims, kept_in), index_offsets(kept_dims, kept_out),
                                          index_offsets(red_dims, red_in), xs.offset, a.slot(a.output).offset);
  step->kind = "mean";
  return step;
}

constexpr OpDef kOps[] = {
    {.op_type = "GlobalAveragePool", .since_opset = 1, .infer = infer_global_pool, .make_step = make_reduce_mean_step},
    {.op_type = "ReduceMean",
     .since_opset = 11,
     .infer = infer_reduce_mean,
     .make_step = make_reduce_mean_step,
     .attributes = "axes keepdims noop_with_empty_axes"},
};

}  // namespace

std::span<const OpDef> ops::reduce_ops() { return kOps; }

}  // namespace iciia::engine
