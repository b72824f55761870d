// Steps that only move floats: Transpose, Slice, Split, Gather (constant
// indices) and Concat. Each is a list of strided copies between the storage
// of its operands (NHWC or row-major, constants row-major) and the storage of
// its output(s), so no layout conversion pass is ever needed.
#include <string>

#include "engine/op_registry.h"
#include "engine/steps.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

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

  void run(float* arena, float*) const override {
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

}  // namespace

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
  const ops::SliceGeometry geo = ops::slice_geometry(a.graph, a.node);
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
  const auto sizes = ops::split_sizes(a.graph, a.node, axis);
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
  if (!idx.constant || idx.dtype != DType::kInt64)
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
    if (v.dtype != DType::kFloat32) unsupported(a, "concatenating " + v.describe() + " with float data");
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

}  // namespace iciia::engine
