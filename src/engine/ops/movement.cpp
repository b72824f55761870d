// Ops that move floats without arithmetic: Transpose, Slice, Split, Gather
// and Concat. At load time they fold the exporters' shape arithmetic (Shape
// -> Gather -> Unsqueeze -> Concat -> Reshape) to constants; at run time each
// is a list of strided copies between the storage of its operands (NHWC or
// row-major, constants row-major) and the storage of its output(s), so no
// layout conversion pass is ever needed.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>

#include "engine/steps.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

// Row-major strides of dims.
std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

// Copies the constant contents of `v` (either dtype) gathered through `index`
// (flat source positions) into output i.
void set_gathered(InferContext& ctx, size_t i, const Value& v, std::vector<int64_t> dims,
                  const std::vector<int64_t>& index) {
  if (v.dtype == ValueDType::kInt64) {
    std::vector<int64_t> out(index.size());
    for (size_t k = 0; k < index.size(); ++k) out[k] = v.i64[index[k]];
    ctx.set_constant(i, std::move(dims), std::move(out));
  } else {
    std::vector<float> out(index.size());
    for (size_t k = 0; k < index.size(); ++k) out[k] = v.f32[index[k]];
    ctx.set_constant(i, std::move(dims), std::move(out));
  }
}

// Where a Slice reads, per axis of its input: first index, step (negative
// steps walk backwards) and output size. Shared by shape inference and the
// runtime step; throws kFormat naming the node on inconsistent inputs.
struct SliceGeometry {
  std::vector<int64_t> begin, step, dims;
};

SliceGeometry slice_geometry(const Graph& graph, const Node& node) {
  auto fail = [&](const std::string& what) { throw Error(ErrorCode::kFormat, node.label() + ": " + what); };
  auto ints = [&](size_t i) {
    std::vector<int64_t> out;
    if (i >= node.inputs.size() || node.inputs[i] < 0) return out;
    const Value& v = graph.values[node.inputs[i]];
    if (!v.constant) fail("input '" + v.name + "' must be known at load time");
    if (v.dtype == ValueDType::kInt64) return v.i64;
    for (float f : v.f32) {
      if (!representable_as_int64(f)) fail("input '" + v.name + "' holds " + std::to_string(f) + ", not an integer");
      out.push_back(static_cast<int64_t>(f));
    }
    return out;
  };
  const Value& x = graph.values[node.inputs[0]];
  const auto starts = ints(1), ends = ints(2);
  std::vector<int64_t> axes = ints(3), steps = ints(4);
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    fail("starts, ends, axes and steps differ in length");
  const int64_t r = static_cast<int64_t>(x.dims.size());
  SliceGeometry geo;
  geo.begin.assign(r, 0);
  geo.step.assign(r, 1);
  geo.dims = x.dims;
  std::vector<bool> seen(r, false);
  for (size_t k = 0; k < starts.size(); ++k) {
    if (axes[k] < -r || axes[k] >= r) fail("axis " + std::to_string(axes[k]) + " is outside the rank of " + x.describe());
    const int ax = static_cast<int>(axes[k] < 0 ? axes[k] + r : axes[k]);
    if (seen[ax]) fail("axis " + std::to_string(axes[k]) + " is sliced twice");
    seen[ax] = true;
    const int64_t n = x.dims[ax], st = steps[k];
    if (st == 0) fail("step 0 on axis " + std::to_string(ax));
    // starts / ends may be INT64_MIN / INT64_MAX: v + n cannot overflow for v < 0.
    auto norm = [&](int64_t v) { return v < 0 ? v + n : v; };
    int64_t b, e;
    if (st > 0) {
      b = std::clamp(norm(starts[k]), int64_t{0}, n);
      e = std::clamp(norm(ends[k]), int64_t{0}, n);
    } else {
      b = std::clamp(norm(starts[k]), int64_t{0}, std::max<int64_t>(n - 1, 0));
      e = ends[k] < -n ? -1 : std::clamp(norm(ends[k]), int64_t{-1}, n - 1);
    }
    geo.begin[ax] = b;
    geo.step[ax] = st;
    // Any |step| >= n takes one element; clamping keeps the arithmetic in range
    // for steps up to INT64_MIN / INT64_MAX.
    const int64_t span = st > 0 ? e - b : b - e;
    const int64_t mag = std::min<int64_t>(st > 0 ? st : (st == INT64_MIN ? INT64_MAX : -st), std::max<int64_t>(n, 1));
    geo.dims[ax] = span <= 0 || n == 0 ? 0 : (span + mag - 1) / mag;
  }
  return geo;
}

// Split sizes along `axis` (from the attribute before opset 13, the input from 13).
std::vector<int64_t> split_sizes(const Graph& graph, const Node& node, int axis) {
  auto fail = [&](const std::string& what) { throw Error(ErrorCode::kFormat, node.label() + ": " + what); };
  const Value& x = graph.values[node.inputs[0]];
  const size_t parts = node.outputs.size();
  std::vector<int64_t> sizes;
  if (graph.opset >= 13) {
    if (node.inputs.size() > 1 && node.inputs[1] >= 0) {
      const Value& v = graph.values[node.inputs[1]];
      if (!v.constant || v.dtype != ValueDType::kInt64) fail("split sizes '" + v.name + "' must be integers known at load time");
      sizes = v.i64;
    }
  } else {
    sizes = node.onnx.attr_ints("split");
  }
  if (sizes.empty()) {
    if (x.dims[axis] % static_cast<int64_t>(parts))
      fail("axis " + std::to_string(axis) + " of " + x.describe() + " does not split evenly into " +
           std::to_string(parts) + " parts");
    sizes.assign(parts, x.dims[axis] / static_cast<int64_t>(parts));
  }
  if (sizes.size() != parts) fail("split sizes do not match the number of outputs");
  int64_t sum = 0;
  for (int64_t s : sizes) {
    // Each part fits in the axis, so the running sum cannot overflow.
    if (s < 0 || s > x.dims[axis])
      fail("split size " + std::to_string(s) + " outside [0, " + std::to_string(x.dims[axis]) + "]");
    sum += s;
  }
  if (sum != x.dims[axis])
    fail("split sizes add up to " + std::to_string(sum) + ", not " + std::to_string(x.dims[axis]));
  return sizes;
}

void infer_gather(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const Value& idx = ctx.in(1);
  if (idx.dtype != ValueDType::kInt64) ctx.fail("indices must be integers");
  if (x.dims.empty()) ctx.fail("cannot gather from a scalar");
  const int axis = ctx.axis(ctx.node().onnx.attr_int("axis", 0), x.dims.size(), "axis");
  std::vector<int64_t> dims(x.dims.begin(), x.dims.begin() + axis);
  dims.insert(dims.end(), idx.dims.begin(), idx.dims.end());
  dims.insert(dims.end(), x.dims.begin() + axis + 1, x.dims.end());
  if (!(x.constant && idx.constant)) {
    ctx.set_output(0, x.dtype, std::move(dims));
    return;
  }
  const int64_t n = x.dims[axis];
  const auto strides = strides_of(x.dims);
  const int64_t outer = std::accumulate(x.dims.begin(), x.dims.begin() + axis, int64_t{1}, std::multiplies<>());
  const int64_t inner = strides[axis];
  std::vector<int64_t> index;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k : idx.i64) {
      if (k < -n || k >= n) ctx.fail("index " + std::to_string(k) + " is outside [" + std::to_string(-n) + ", " +
                                     std::to_string(n) + ")");
      const int64_t kk = k < 0 ? k + n : k;
      for (int64_t i = 0; i < inner; ++i) index.push_back(o * n * inner + kk * inner + i);
    }
  set_gathered(ctx, 0, x, std::move(dims), index);
}

void infer_concat(InferContext& ctx) {
  const Value& first = ctx.in(0);
  const int axis = ctx.axis(ctx.node().onnx.attr_int("axis", 0), first.dims.size(), "axis");
  std::vector<int64_t> dims = first.dims;
  dims[axis] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Value& v = ctx.in(i);
    if (v.dtype != first.dtype || v.dims.size() != first.dims.size())
      ctx.fail("input " + v.describe() + " does not match " + first.describe());
    for (size_t d = 0; d < dims.size(); ++d)
      if (static_cast<int>(d) != axis && v.dims[d] != first.dims[d])
        ctx.fail("input " + v.describe() + " differs from " + first.describe() + " outside axis " +
                 std::to_string(axis));
    dims[axis] += v.dims[axis];
  }
  if (!ctx.inputs_constant()) {
    ctx.set_output(0, first.dtype, std::move(dims));
    return;
  }
  const int64_t outer = std::accumulate(dims.begin(), dims.begin() + axis, int64_t{1}, std::multiplies<>());
  std::vector<int64_t> i64;
  std::vector<float> f32;
  for (int64_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Value& v = ctx.in(i);
      const int64_t chunk = v.numel() / std::max<int64_t>(outer, 1);
      if (v.dtype == ValueDType::kInt64)
        i64.insert(i64.end(), v.i64.begin() + o * chunk, v.i64.begin() + (o + 1) * chunk);
      else
        f32.insert(f32.end(), v.f32.begin() + o * chunk, v.f32.begin() + (o + 1) * chunk);
    }
  if (first.dtype == ValueDType::kInt64)
    ctx.set_constant(0, std::move(dims), std::move(i64));
  else
    ctx.set_constant(0, std::move(dims), std::move(f32));
}

void infer_slice(InferContext& ctx) {
  const Value& x = ctx.in(0);
  (void)ctx.constant_ints(1, "starts");
  (void)ctx.constant_ints(2, "ends");
  if (ctx.has_input(3)) (void)ctx.constant_ints(3, "axes");
  if (ctx.has_input(4)) (void)ctx.constant_ints(4, "steps");
  SliceGeometry geo = slice_geometry(ctx.graph(), ctx.node());
  if (!x.constant) {
    ctx.set_output(0, x.dtype, std::move(geo.dims));
    return;
  }
  const size_t r = x.dims.size();
  const auto strides = strides_of(x.dims);
  std::vector<int64_t> index;
  std::vector<int64_t> pos(r, 0);
  int64_t total = 1;
  for (int64_t d : geo.dims) total *= d;
  for (int64_t k = 0; k < total; ++k) {
    int64_t src = 0;
    for (size_t d = 0; d < r; ++d) src += (geo.begin[d] + pos[d] * geo.step[d]) * strides[d];
    index.push_back(src);
    for (int d = static_cast<int>(r) - 1; d >= 0 && ++pos[d] == geo.dims[d]; --d) pos[d] = 0;
  }
  set_gathered(ctx, 0, x, std::move(geo.dims), index);
}

void infer_split(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const int axis = ctx.axis(ctx.node().onnx.attr_int("axis", 0), x.dims.size(), "axis");
  if (ctx.opset() >= 13 && ctx.has_input(1)) (void)ctx.constant_ints(1, "split");
  const auto sizes = split_sizes(ctx.graph(), ctx.node(), axis);
  int64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto dims = x.dims;
    dims[axis] = sizes[i];
    if (ctx.node().outputs[i] < 0) {
      offset += sizes[i];
      continue;
    }
    if (x.constant) {
      // Fold: the part is the slice [offset, offset + size) of the axis.
      const auto strides = strides_of(x.dims);
      std::vector<int64_t> index;
      const int64_t outer = std::accumulate(x.dims.begin(), x.dims.begin() + axis, int64_t{1}, std::multiplies<>());
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < sizes[i]; ++k)
          for (int64_t j = 0; j < strides[axis]; ++j)
            index.push_back(o * x.dims[axis] * strides[axis] + (offset + k) * strides[axis] + j);
      set_gathered(ctx, i, x, std::move(dims), index);
    } else {
      ctx.set_output(i, x.dtype, std::move(dims));
    }
    offset += sizes[i];
  }
}

void infer_transpose(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const size_t r = x.dims.size();
  std::vector<int64_t> perm = ctx.node().onnx.attr_ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < r; ++i) perm.push_back(static_cast<int64_t>(r - 1 - i));
  if (perm.size() != r) ctx.fail("perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
  std::vector<bool> seen(r, false);
  std::vector<int64_t> dims;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(r) || seen[p]) ctx.fail("perm is not a permutation");
    seen[p] = true;
    dims.push_back(x.dims[p]);
  }
  ctx.set_output(0, x.dtype, std::move(dims));
}

class CopyPartsStep : public Step {
 public:
  struct Part {
    bool constant = false;  // source in constants_ (row-major), not the arena
    int64_t src = 0;        // offset into the arena or constants_
    int64_t dst = 0;        // arena offset
    StridedCopy copy;
  };

  void add(const Part& p) { parts_.push_back(p); }
  // Appends a constant operand; returns its offset in constants_.
  int64_t add_constant(const std::vector<float>& data) {
    const int64_t at = static_cast<int64_t>(constants_.size());
    constants_.insert(constants_.end(), data.begin(), data.end());
    return at;
  }

  void run(float* arena, float*, const kernels::Parallel&) const override {
    for (const Part& p : parts_) p.copy.run((p.constant ? constants_.data() : arena) + p.src, arena + p.dst);
  }

 private:
  std::vector<Part> parts_;
  std::vector<float> constants_;
};

[[noreturn]] void unsupported(const StepArgs& a, const std::string& what) {
  throw Error(ErrorCode::kUnsupported, a.node.label() + ": " + what);
}

// A runtime data operand (input 0 of these ops); constants fold at load time.
const Value& runtime_input(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  if (x.constant) unsupported(a, "a constant data input " + x.describe() + " that did not fold");
  return x;
}

int normal_axis(const StepArgs& a, int64_t axis, size_t rank) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r)
    throw Error(ErrorCode::kFormat, a.node.label() + ": axis " + std::to_string(axis) + " outside the rank " +
                                        std::to_string(r));
  return static_cast<int>(axis < 0 ? axis + r : axis);
}

std::unique_ptr<CopyPartsStep> new_step(const char* kind) {
  auto step = std::make_unique<CopyPartsStep>();
  step->kind = kind;
  return step;
}


std::unique_ptr<Step> make_transpose_step(const StepArgs& a) {
  const Value& x = runtime_input(a);
  const Value& y = a.value(a.output);
  const size_t r = x.dims.size();
  std::vector<int64_t> perm = a.node.onnx.attr_ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < r; ++i) perm.push_back(static_cast<int64_t>(r - 1 - i));
  const auto xs = storage_strides(x, a.slot(a.input(0)));
  std::vector<int64_t> src(r);
  for (size_t i = 0; i < r; ++i) src[i] = xs[perm[i]];
  auto step = new_step("transpose");
  step->add({false, a.slot(a.input(0)).offset, a.slot(a.output).offset,
             StridedCopy::make(y.dims, src, storage_strides(y, a.slot(a.output)))});
  return step;
}

std::unique_ptr<Step> make_slice_step(const StepArgs& a) {
  const Value& x = runtime_input(a);
  const Value& y = a.value(a.output);
  const SliceGeometry geo = slice_geometry(a.graph, a.node);
  const auto xs = storage_strides(x, a.slot(a.input(0)));
  int64_t base = 0;
  std::vector<int64_t> src(xs.size());
  for (size_t d = 0; d < xs.size(); ++d) {
    base += geo.begin[d] * xs[d];
    // A step only matters where it is taken: with one element along d it can
    // be any int64 (a fuzzer's 7e18), and multiplying it would overflow.
    src[d] = y.dims[d] > 1 ? xs[d] * geo.step[d] : 0;
  }
  auto step = new_step("slice");
  step->add({false, a.slot(a.input(0)).offset + base, a.slot(a.output).offset,
             StridedCopy::make(y.dims, src, storage_strides(y, a.slot(a.output)))});
  return step;
}

std::unique_ptr<Step> make_split_step(const StepArgs& a) {
  const Value& x = runtime_input(a);
  const int axis = normal_axis(a, a.node.onnx.attr_int("axis", 0), x.dims.size());
  const auto sizes = split_sizes(a.graph, a.node, axis);
  const auto xs = storage_strides(x, a.slot(a.input(0)));
  auto step = new_step("split");
  int64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int id = a.node.outputs[i];
    if (id >= 0) {
      const Value& y = a.value(id);
      step->add({false, a.slot(a.input(0)).offset + offset * xs[axis], a.slot(id).offset,
                 StridedCopy::make(y.dims, xs, storage_strides(y, a.slot(id)))});
    }
    offset += sizes[i];
  }
  return step;
}

std::unique_ptr<Step> make_gather_step(const StepArgs& a) {
  const Value& x = runtime_input(a);
  const Value& idx = a.value(a.input(1));
  const Value& y = a.value(a.output);
  if (!idx.constant || idx.dtype != ValueDType::kInt64)
    unsupported(a, "indices " + idx.describe() + " computed at run time (only constant indices run)");
  const int axis = normal_axis(a, a.node.onnx.attr_int("axis", 0), x.dims.size());
  const auto xs = storage_strides(x, a.slot(a.input(0)));
  const auto ys = storage_strides(y, a.slot(a.output));
  const size_t ri = idx.dims.size();
  // One copy per index: x without `axis` into y without the index axes.
  std::vector<int64_t> dims, src, dst;
  for (size_t d = 0; d < x.dims.size(); ++d) {
    if (static_cast<int>(d) == axis) continue;
    dims.push_back(x.dims[d]);
    src.push_back(xs[d]);
    dst.push_back(ys[static_cast<int>(d) < axis ? d : d - 1 + ri]);
  }
  const StridedCopy copy = StridedCopy::make(dims, src, dst);
  const int64_t n = x.dims[axis];
  auto step = new_step("gather");
  std::vector<int64_t> pos(ri, 0);
  for (int64_t k : idx.i64) {
    if (k < -n || k >= n)
      throw Error(ErrorCode::kFormat, a.node.label() + ": index " + std::to_string(k) + " is outside [" +
                                          std::to_string(-n) + ", " + std::to_string(n) + ")");
    int64_t base = 0;
    for (size_t t = 0; t < ri; ++t) base += pos[t] * ys[axis + t];
    step->add({false, a.slot(a.input(0)).offset + (k < 0 ? k + n : k) * xs[axis], a.slot(a.output).offset + base, copy});
    for (size_t t = ri; t-- > 0 && ++pos[t] == idx.dims[t];) pos[t] = 0;
  }
  return step;
}

std::unique_ptr<Step> make_concat_step(const StepArgs& a) {
  const Value& y = a.value(a.output);
  const int axis = normal_axis(a, a.node.onnx.attr_int("axis", 0), y.dims.size());
  const auto ys = storage_strides(y, a.slot(a.output));
  auto step = new_step("concat");
  int64_t offset = 0;
  for (int id : a.node.inputs) {
    const Value& v = a.value(id);
    if (v.dtype != ValueDType::kFloat32) unsupported(a, "concatenating " + v.describe() + " with float data");
    CopyPartsStep::Part p;
    p.constant = v.constant;
    p.src = v.constant ? step->add_constant(v.f32) : a.slot(id).offset;
    p.dst = a.slot(a.output).offset + offset * ys[axis];
    p.copy = StridedCopy::make(v.dims, storage_strides(v, a.slot(id)), ys);
    step->add(p);
    offset += v.dims[axis];
  }
  return step;
}

constexpr OpDef kOps[] = {
    {.op_type = "Concat", .since_opset = 11, .infer = infer_concat, .make_step = make_concat_step, .flags = kConstantData,
     .attributes = "axis"},
    {.op_type = "Gather", .since_opset = 11, .infer = infer_gather, .make_step = make_gather_step, .attributes = "axis"},
    {.op_type = "Slice", .since_opset = 10, .infer = infer_slice, .make_step = make_slice_step},
    {.op_type = "Split", .since_opset = 11, .infer = infer_split, .make_step = make_split_step, .attributes = "axis split"},
    {.op_type = "Transpose", .since_opset = 1, .infer = infer_transpose, .make_step = make_transpose_step,
     .attributes = "perm"},
};

}  // namespace

std::span<const OpDef> ops::movement_ops() { return kOps; }

}  // namespace iciia::engine
