#include "engine/graph.h"

#include <algorithm>
#include <limits>

#include "engine/op_registry.h"
#include "util/error.h"
#include "util/text.h"

namespace iciia::engine {

namespace {
constexpr int64_t kMinOpset = 11;
constexpr int64_t kMaxOpset = 17;

// Product of the dims with each counted as at least 1, saturating at the
// int64 maximum: bounding it bounds every dim and every partial product that
// later shape arithmetic may form, even for a value with an empty dimension.
int64_t dims_span(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    const int64_t e = std::max<int64_t>(d, 1);
    if (n > std::numeric_limits<int64_t>::max() / e) return std::numeric_limits<int64_t>::max();
    n *= e;
  }
  return n;
}

// Throws kLimit when `v` (described as coming from `where`) is over the
// per-value bound.
void check_value_limit(const Value& v, const BuildOptions& options, const std::string& where) {
  if (dims_span(v.dims) <= options.max_value_elements) return;
  std::string count;
  const bool empty = std::any_of(v.dims.begin(), v.dims.end(), [](int64_t d) { return d == 0; });
  if (empty)
    count = "no elements, but dimensions whose product is";
  else if (dims_span(v.dims) < std::numeric_limits<int64_t>::max())
    count = std::to_string(dims_span(v.dims)) + " elements,";
  else
    count = "more elements than fit in 64 bits,";
  throw Error(ErrorCode::kLimit, where + ": value " + v.describe() + " has " + count + " over the limit of " +
                                     std::to_string(options.max_value_elements) +
                                     " elements per value (max_value_elements)");
}

// Adds the elements of a folded constant `v` (output of `n`) to `folded`;
// throws kLimit past the bound.
void count_folded(int64_t& folded, const Value& v, const Node& n, const BuildOptions& options) {
  const int64_t numel = v.numel(), room = std::numeric_limits<int64_t>::max() - folded;
  folded = numel > room ? std::numeric_limits<int64_t>::max() : folded + numel;
  if (folded > options.max_folded_elements)
    throw Error(ErrorCode::kLimit, n.label() + ": folding " + v.describe() + " brings the constants computed at "
                                       "load time to " + std::to_string(folded) + " elements, over the limit of " +
                                       std::to_string(options.max_folded_elements) + " (max_folded_elements)");
}

void reset_outputs(Graph& g, const Node& n) {
  for (int id : n.outputs) {
    if (id < 0) continue;
    Value& v = g.values[id];
    v.shape_known = v.constant = false;
    v.dims.clear();
    v.f32.clear();
    v.i64.clear();
  }
}

// A node whose inputs are all constant folds: its infer function computes
// the outputs' contents, allocating (and looping over) as much as they hold,
// before infer() can look at them. So first infer its shapes alone, with
// input 0 taken as a run-time value (no op's output shape depends on the
// contents of its input 0, the data), and check them against the bounds.
void check_fold_before_folding(Graph& g, Node& n, const BuildOptions& options, int64_t folded) {
  constexpr int64_t kNoBound = std::numeric_limits<int64_t>::max();
  if (options.max_value_elements == kNoBound && options.max_folded_elements == kNoBound) return;
  if (n.inputs.empty() || n.inputs[0] < 0) return;
  for (int id : n.inputs)
    if (id >= 0 && !g.values[id].constant) return;
  struct Restore {
    Graph& g;
    const Node& n;
    int data;
    ~Restore() {
      g.values[data].constant = true;
      reset_outputs(g, n);
    }
  } restore{g, n, n.inputs[0]};
  g.values[n.inputs[0]].constant = false;
  try {
    InferContext ctx(g, n);
    n.def->infer(ctx);
  } catch (const Error&) {
    return;  // the real inference reports it
  }
  for (int id : n.outputs) {
    if (id < 0 || !g.values[id].shape_known) continue;
    check_value_limit(g.values[id], options, n.label());
    count_folded(folded, g.values[id], n, options);
  }
}
}  // namespace

const char* dtype_name(ValueDType dtype) { return dtype == ValueDType::kInt64 ? "i64" : "f32"; }

int64_t Value::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) throw Error(ErrorCode::kFormat, "value '" + name + "' has a negative dimension");
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw Error(ErrorCode::kLimit, "value '" + name + "' has more elements than fit in 64 bits");
    n *= d;
  }
  return n;
}

std::string Value::describe() const {
  return "'" + name + "' " + dtype_name(dtype) + (shape_known ? dims_string(dims) : "[?]");
}

int Graph::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? -1 : it->second;
}

int Graph::add_value(Value v) {
  const int id = static_cast<int>(values.size());
  if (!v.name.empty()) {
    if (by_name_.count(v.name)) throw Error(ErrorCode::kFormat, "value '" + v.name + "' is defined twice");
    by_name_[v.name] = id;
  }
  values.push_back(std::move(v));
  return id;
}

namespace {

Value constant_from(const OnnxTensor& t, const std::string& context) {
  Value v;
  v.name = t.name;
  v.dims = t.dims;
  v.shape_known = true;
  v.constant = true;
  switch (t.dtype) {
    case OnnxDataType::kFloat:
    case OnnxDataType::kFloat16:
    case OnnxDataType::kBfloat16:
    case OnnxDataType::kDouble:
      v.dtype = ValueDType::kFloat32;
      v.f32 = t.to_floats();
      break;
    case OnnxDataType::kInt64:
    case OnnxDataType::kInt32:
    case OnnxDataType::kInt16:
    case OnnxDataType::kInt8:
    case OnnxDataType::kUint8:
    case OnnxDataType::kUint16:
    case OnnxDataType::kUint32:
    case OnnxDataType::kBool:
      v.dtype = ValueDType::kInt64;
      v.i64 = t.to_int64s();
      break;
    default:
      throw Error(ErrorCode::kUnsupported,
                  context + " '" + t.name + "' has dtype " + onnx_dtype_name(t.dtype) + ", which the engine cannot run");
  }
  return v;
}

ValueDType value_dtype(const OnnxValueInfo& info) {
  switch (info.elem_type) {
    case OnnxDataType::kFloat:
      return ValueDType::kFloat32;
    case OnnxDataType::kInt64:
    case OnnxDataType::kInt32:
      return ValueDType::kInt64;
    default:
      throw Error(ErrorCode::kUnsupported, "graph input '" + info.name + "' has dtype " +
                                               onnx_dtype_name(info.elem_type) + " (expected FLOAT or INT64)");
  }
}

}  // namespace

Graph build_graph(const OnnxModel& model) {
  Graph g;
  g.opset = model.opset_version("");
  if (g.opset < kMinOpset || g.opset > kMaxOpset)
    throw Error(ErrorCode::kUnsupported, "model imports ai.onnx opset " + std::to_string(g.opset) +
                                             "; this engine runs opsets " + std::to_string(kMinOpset) + " to " +
                                             std::to_string(kMaxOpset));
  validate_graph(model.graph);
  for (const auto& t : model.graph.initializers) g.add_value(constant_from(t, "initializer"));
  for (const auto& info : model.graph.inputs) {
    if (g.find(info.name) >= 0) continue;  // an initializer listed as input (old IR)
    Value v;
    v.name = info.name;
    if (!info.is_tensor) throw Error(ErrorCode::kUnsupported, "graph input '" + info.name + "' is not a tensor");
    v.dtype = value_dtype(info);
    if (info.has_shape)
      for (const auto& d : info.shape) v.declared.push_back(d.is_fixed() ? d.value : -1);
    g.inputs.push_back(g.add_value(std::move(v)));
  }
  for (size_t idx : topological_order(model.graph)) {
    const OnnxNode& on = model.graph.nodes[idx];
    Node n;
    n.onnx = on;
    if (!on.domain.empty() && on.domain != "ai.onnx")
      throw Error(ErrorCode::kUnsupported, n.label() + ": op domain '" + on.domain + "' is not supported (opset " +
                                               std::to_string(model.opset_version(on.domain)) + ")");
    n.def = find_op(on.op_type);
    if (!n.def)
      throw Error(ErrorCode::kUnsupported, "unsupported op " + on.op_type + " at " + n.label() + " (opset " +
                                               std::to_string(g.opset) + ")");
    for (const auto& name : on.inputs) n.inputs.push_back(name.empty() ? -1 : g.find(name));
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (n.inputs[i] < 0 && !on.inputs[i].empty())
        throw Error(ErrorCode::kFormat, n.label() + ": input '" + on.inputs[i] + "' is not defined");
    const int node_id = static_cast<int>(g.nodes.size());
    for (const auto& name : on.outputs) {
      Value v;
      v.name = name;
      v.producer = node_id;
      n.outputs.push_back(name.empty() ? -1 : g.add_value(std::move(v)));
    }
    g.nodes.push_back(std::move(n));
  }
  for (const auto& info : model.graph.outputs) g.outputs.push_back(g.find(info.name));
  return g;
}

void infer(Graph& g, const BuildOptions& options) {
  // Forget what a previous infer() derived, so a graph can be re-shaped.
  for (Value& v : g.values)
    if (v.producer >= 0) {
      v.shape_known = v.constant = false;
      v.dims.clear();
      v.f32.clear();
      v.i64.clear();
    }
  for (int id : g.inputs) {
    Value& v = g.values[id];
    v.dims = v.declared;
    v.shape_known = std::none_of(v.declared.begin(), v.declared.end(), [](int64_t d) { return d < 0; });
    auto it = options.input_dims.find(v.name);
    if (it != options.input_dims.end()) {
      const auto& given = it->second;
      if (!v.declared.empty() && v.declared.size() != given.size())
        throw Error(ErrorCode::kInvalidArgument, "input '" + v.name + "' has rank " +
                                                     std::to_string(v.declared.size()) + ", given dims " +
                                                     dims_string(given));
      for (size_t i = 0; i < v.declared.size(); ++i)
        if (v.declared[i] >= 0 && v.declared[i] != given[i])
          throw Error(ErrorCode::kInvalidArgument, "input '" + v.name + "' is " + dims_string(v.declared) +
                                                       " in the model (-1: open), given " + dims_string(given));
      for (int64_t d : given)
        if (d < 0) throw Error(ErrorCode::kInvalidArgument, "input '" + v.name + "' given negative dims " + dims_string(given));
      v.dims = given;
      v.shape_known = true;
    }
    if (!v.shape_known)
      throw Error(ErrorCode::kInvalidArgument, "input '" + v.name + "' has open dimensions " + dims_string(v.dims) +
                                                   ": give its shape");
    (void)v.numel();
    check_value_limit(v, options, "graph input '" + v.name + "'");
  }
  for (const Value& v : g.values)
    if (v.constant && v.producer < 0) check_value_limit(v, options, "initializer '" + v.name + "'");
  int64_t folded_elements = 0;
  for (Node& n : g.nodes) {
    check_fold_before_folding(g, n, options, folded_elements);
    InferContext ctx(g, n);
    n.def->infer(ctx);
    bool all_constant = true;
    for (int id : n.outputs) {
      if (id < 0) continue;
      const Value& v = g.values[id];
      if (!v.shape_known) ctx.fail("internal: output '" + v.name + "' has no inferred shape");
      check_value_limit(v, options, n.label());
      if (v.constant) count_folded(folded_elements, v, n, options);
      all_constant = all_constant && v.constant;
    }
    n.folded = all_constant;
  }
}

}  // namespace iciia::engine
