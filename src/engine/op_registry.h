// One table of the ops the engine runs. Each entry says from which opset its
// semantics hold and how to infer its outputs (shapes, and contents when all
// inputs are constant and folding is cheap). Adding an op = one entry here and
// its functions in src/engine/ops/.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "engine/graph.h"

namespace iciia::engine {

class InferContext {
 public:
  InferContext(Graph& graph, Node& node) : graph_(graph), node_(node) {}

  Graph& graph() { return graph_; }
  Node& node() { return node_; }
  int64_t opset() const { return graph_.opset; }
  size_t num_inputs() const { return node_.inputs.size(); }
  bool has_input(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] >= 0; }
  const Value& in(size_t i) const;  // fails naming the node if absent
  Value& out(size_t i);
  bool inputs_constant() const;     // every present input is constant

  void set_output(size_t i, DType dtype, std::vector<int64_t> dims);
  // Sets shape and constant contents at once.
  void set_constant(size_t i, std::vector<int64_t> dims, std::vector<float> data);
  void set_constant(size_t i, std::vector<int64_t> dims, std::vector<int64_t> data);

  // Throws kFormat: "<node label>: <what>".
  [[noreturn]] void fail(const std::string& what) const;
  // Throws kUnsupported: "<node label>: <what> (opset N)" -- valid ONNX the
  // engine does not run; `what` names the attribute and its value.
  [[noreturn]] void unsupported(const std::string& what) const;
  // Integer contents of constant input i (an error if it is not constant).
  std::vector<int64_t> constant_ints(size_t i, const char* what) const;
  // Normalises an axis in [-rank, rank) or fails naming it.
  int axis(int64_t axis, size_t rank, const char* what) const;

 private:
  Graph& graph_;
  Node& node_;
};

// Whether a float converts to int64 without undefined behaviour (NaN and
// out-of-range values do not).
inline bool representable_as_int64(float f) { return f >= -9.2233720368547758e18f && f < 9.2233720368547758e18f; }

struct OpDef {
  const char* op_type;
  int since_opset;                 // oldest opset whose semantics are implemented
  void (*infer)(InferContext& ctx);
};

const OpDef* find_op(std::string_view op_type);
std::span<const OpDef> all_ops();

// Per-family inference functions (src/engine/ops/*.cpp), listed in the table.
namespace ops {
void infer_shape(InferContext&);
void infer_gather(InferContext&);
void infer_cast(InferContext&);
void infer_concat(InferContext&);
void infer_unsqueeze(InferContext&);
void infer_squeeze(InferContext&);
void infer_reshape(InferContext&);
void infer_flatten(InferContext&);
void infer_identity(InferContext&);  // Identity, Dropout
void infer_constant(InferContext&);
void infer_slice(InferContext&);
void infer_split(InferContext&);
void infer_transpose(InferContext&);
void infer_binary(InferContext&);  // Add, Sub, Mul, Div
void infer_unary(InferContext&);   // Relu, Clip, Sigmoid, HardSigmoid, HardSwish
void infer_conv(InferContext&);
void infer_batchnorm(InferContext&);
void infer_pool(InferContext&);    // MaxPool, AveragePool
void infer_global_pool(InferContext&);
void infer_gemm(InferContext&);
void infer_matmul(InferContext&);
void infer_softmax(InferContext&);
void infer_reduce_mean(InferContext&);
void infer_pad(InferContext&);

// Where a Slice reads, per axis of its input: first index, step (negative
// steps walk backwards) and output size. Shared by shape inference and the
// runtime step; throws kFormat naming the node on inconsistent inputs.
struct SliceGeometry {
  std::vector<int64_t> begin, step, dims;
};
SliceGeometry slice_geometry(const Graph& graph, const Node& node);

// Split sizes along `axis` (from the attribute before opset 13, the input from 13).
std::vector<int64_t> split_sizes(const Graph& graph, const Node& node, int axis);
}  // namespace ops

}  // namespace iciia::engine
