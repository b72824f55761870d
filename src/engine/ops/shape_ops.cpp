// Ops that move or describe data without arithmetic: the shape computations
// exporters emit (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) fold to
// constants here once the input shape is known.
#include <algorithm>
#include <numeric>

#include "engine/op_registry.h"

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
    default: ctx.fail("cast to " + onnx_dtype_name(static_cast<OnnxDataType>(to)) + " is not supported");
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
      for (float f : x.f32) out.push_back(static_cast<int64_t>(f));
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
  if (ctx.node().outputs.size() > 1 && ctx.node().outputs[1] >= 0) ctx.fail("the Dropout mask output is not supported");
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
    ctx.fail("no value attribute the engine supports (value, value_float(s), value_int(s))");
  }
}

void infer_slice(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const auto starts = ctx.constant_ints(1, "starts");
  const auto ends = ctx.constant_ints(2, "ends");
  std::vector<int64_t> axes = ctx.has_input(3) ? ctx.constant_ints(3, "axes") : std::vector<int64_t>{};
  std::vector<int64_t> steps = ctx.has_input(4) ? ctx.constant_ints(4, "steps") : std::vector<int64_t>{};
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    ctx.fail("starts, ends, axes and steps differ in length");
  const size_t r = x.dims.size();
  std::vector<int64_t> begin(r, 0), step(r, 1), dims = x.dims;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int ax = ctx.axis(axes[k], r, "axis");
    const int64_t n = x.dims[ax], st = steps[k];
    if (st == 0) ctx.fail("step 0 on axis " + std::to_string(ax));
    auto clampi = [&](int64_t v, int64_t lo, int64_t hi) { return std::clamp(v < 0 ? v + n : v, lo, hi); };
    int64_t b, e;
    if (st > 0) {
      b = clampi(starts[k], 0, n);
      e = clampi(ends[k], 0, n);
    } else {
      b = clampi(starts[k], 0, n - 1);
      e = ends[k] < -n ? -1 : clampi(ends[k], -1, n - 1);
    }
    begin[ax] = b;
    step[ax] = st;
    dims[ax] = st > 0 ? std::max<int64_t>(0, (e - b + st - 1) / st) : std::max<int64_t>(0, (b - e - st - 1) / -st);
  }
  if (!x.constant) {
    ctx.set_output(0, x.dtype, std::move(dims));
    return;
  }
  const auto strides = strides_of(x.dims);
  std::vector<int64_t> index;
  std::vector<int64_t> pos(r, 0);
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  for (int64_t k = 0; k < total; ++k) {
    int64_t src = 0;
    for (size_t d = 0; d < r; ++d) src += (begin[d] + pos[d] * step[d]) * strides[d];
    index.push_back(src);
    for (int d = static_cast<int>(r) - 1; d >= 0 && ++pos[d] == dims[d]; --d) pos[d] = 0;
  }
  set_gathered(ctx, 0, x, std::move(dims), index);
}

void infer_split(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const int axis = ctx.axis(ctx.node().onnx.attr_int("axis", 0), x.dims.size(), "axis");
  const size_t parts = ctx.node().outputs.size();
  std::vector<int64_t> sizes = ctx.opset() >= 13 ? (ctx.has_input(1) ? ctx.constant_ints(1, "split")
                                                                     : std::vector<int64_t>{})
                                                 : ctx.node().onnx.attr_ints("split");
  if (sizes.empty()) {
    if (x.dims[axis] % static_cast<int64_t>(parts)) ctx.fail("axis size does not split evenly");
    sizes.assign(parts, x.dims[axis] / static_cast<int64_t>(parts));
  }
  if (sizes.size() != parts) ctx.fail("split sizes do not match the number of outputs");
  int64_t sum = 0;
  for (int64_t s : sizes) sum += s;
  if (sum != x.dims[axis]) ctx.fail("split sizes add up to " + std::to_string(sum) + ", not " + std::to_string(x.dims[axis]));
  for (size_t i = 0; i < parts; ++i) {
    auto dims = x.dims;
    dims[axis] = sizes[i];
    ctx.set_output(i, x.dtype, std::move(dims));
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
