// Ops that move or describe data without arithmetic: the shape computations
// exporters emit (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) fold to
// constants here once the input shape is known.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>

#include "engine/op_registry.h"
#include "util/error.h"

namespace iciia::engine::ops {

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
  if (v.dtype == DType::kInt64) {
    std::vector<int64_t> out(index.size());
    for (size_t k = 0; k < index.size(); ++k) out[k] = v.i64[index[k]];
    ctx.set_constant(i, std::move(dims), std::move(out));
  } else {
    std::vector<float> out(index.size());
    for (size_t k = 0; k < index.size(); ++k) out[k] = v.f32[index[k]];
    ctx.set_constant(i, std::move(dims), std::move(out));
  }
}

// Same data, new dims: constant if the input is.
void pass_through(InferContext& ctx, std::vector<int64_t> dims) {
  const Value& x = ctx.in(0);
  if (x.constant) {
    if (x.dtype == DType::kInt64)
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

}  // namespace

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

void infer_gather(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const Value& idx = ctx.in(1);
  if (idx.dtype != DType::kInt64) ctx.fail("indices must be integers");
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

void infer_cast(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const int64_t to = ctx.node().onnx.attr_int("to", -1);
  DType dtype;
  switch (static_cast<OnnxDataType>(to)) {
    case OnnxDataType::kFloat: dtype = DType::kFloat32; break;
    case OnnxDataType::kInt64:
    case OnnxDataType::kInt32: dtype = DType::kInt64; break;
    default: ctx.unsupported("cast to " + onnx_dtype_name(static_cast<OnnxDataType>(to)) + " (to = " + std::to_string(to) + ")");
  }
  if (!x.constant) {
    ctx.set_output(0, dtype, x.dims);
    return;
  }
  if (dtype == DType::kFloat32) {
    std::vector<float> out = x.f32;
    if (x.dtype == DType::kInt64) out.assign(x.i64.begin(), x.i64.end());
    ctx.set_constant(0, x.dims, std::move(out));
  } else {
    std::vector<int64_t> out = x.i64;
    if (x.dtype == DType::kFloat32) {
      out.clear();
      for (float f : x.f32) {
        if (!representable_as_int64(f)) ctx.fail("cannot cast " + std::to_string(f) + " to an integer");
        out.push_back(static_cast<int64_t>(f));
      }
    }
    ctx.set_constant(0, x.dims, std::move(out));
  }
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
      if (v.dtype == DType::kInt64)
        i64.insert(i64.end(), v.i64.begin() + o * chunk, v.i64.begin() + (o + 1) * chunk);
      else
        f32.insert(f32.end(), v.f32.begin() + o * chunk, v.f32.begin() + (o + 1) * chunk);
    }
  if (first.dtype == DType::kInt64)
    ctx.set_constant(0, std::move(dims), std::move(i64));
  else
    ctx.set_constant(0, std::move(dims), std::move(f32));
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

SliceGeometry slice_geometry(const Graph& graph, const Node& node) {
  auto fail = [&](const std::string& what) { throw Error(ErrorCode::kFormat, node.label() + ": " + what); };
  auto ints = [&](size_t i) {
    std::vector<int64_t> out;
    if (i >= node.inputs.size() || node.inputs[i] < 0) return out;
    const Value& v = graph.values[node.inputs[i]];
    if (!v.constant) fail("input '" + v.name + "' must be known at load time");
    if (v.dtype == DType::kInt64) return v.i64;
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

std::vector<int64_t> split_sizes(const Graph& graph, const Node& node, int axis) {
  auto fail = [&](const std::string& what) { throw Error(ErrorCode::kFormat, node.label() + ": " + what); };
  const Value& x = graph.values[node.inputs[0]];
  const size_t parts = node.outputs.size();
  std::vector<int64_t> sizes;
  if (graph.opset >= 13) {
    if (node.inputs.size() > 1 && node.inputs[1] >= 0) {
      const Value& v = graph.values[node.inputs[1]];
      if (!v.constant || v.dtype != DType::kInt64) fail("split sizes '" + v.name + "' must be integers known at load time");
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

}  // namespace iciia::engine::ops
