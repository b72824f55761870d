// The op table: the only list of the ops the engine runs. An op is one
// OpDef entry in the file of its family (src/engine/ops/<family>.cpp), beside
// its shape inference and its runtime step; everything else (graph building,
// the planner's fusion and step choice, the engine's cost bounds, the MAC
// count of the benchmarks, the fuzz dictionary) asks the entry. Adding an op
// to a family = its entry, functions and test; a new family file adds its
// span to op_registry.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph.h"
#include "kernels/activation.h"

namespace iciia::engine {

class Step;
struct StepArgs;

class InferContext {
 public:
  InferContext(Graph& graph, Node& node) : graph_(graph), node_(node) {}

  Graph& graph() { return graph_; }
  Node& node() { return node_; }
  const OnnxNode& onnx() const { return node_.onnx; }
  int64_t opset() const { return graph_.opset; }
  size_t num_inputs() const { return node_.inputs.size(); }
  bool has_input(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] >= 0; }
  const Value& in(size_t i) const;  // fails naming the node if absent
  Value& out(size_t i);
  bool inputs_constant() const;     // every present input is constant

  void set_output(size_t i, ValueDType dtype, std::vector<int64_t> dims);
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
  // Every present input is float (T of most schemas).
  void require_float_inputs() const;
  void require_rank(const Value& v, size_t rank) const;
  // NCHW with two spatial dims: other ranks (1-D / 3-D windows) are valid
  // ONNX the kernels do not run.
  void require_2d_window_input(const Value& x) const;

 private:
  Graph& graph_;
  Node& node_;
};

// Whether a float converts to int64 without undefined behaviour (NaN and
// out-of-range values do not).
inline bool representable_as_int64(float f) { return f >= -9.2233720368547758e18f && f < 9.2233720368547758e18f; }

// What a node absorbs from the nodes after it (plan.cpp's fusion): the chain
// ends at the first node that is none of these, or after one activation.
enum class Absorbs : uint8_t {
  kNothing,
  kConvEpilogue,  // a BatchNorm, a residual Add, a constant bias Add, an activation
  kGemmEpilogue,  // a constant bias Add, an activation
  kActivation,    // an activation
};

// How a node can be absorbed by the node before it, besides as an activation
// (OpDef::activation).
enum class FuseRole : uint8_t {
  kNone,
  kBatchNorm,    // folded into a Conv's weights
  kAdd,          // a residual (Conv) or a constant per-channel bias
  kGateProduct,  // x * gate(x), with OpDef::gate of the other operand's producer
};

// Bits of OpDef::flags.
enum OpFlags : uint32_t {
  // The output is the input's data under another shape: the planner aliases
  // it when the storage order allows, else the step copies.
  kReshapeLike = 1u << 0,
  // The step takes a constant as its data input (input 0); for every other
  // op a constant input 0 that did not fold is an error before planning.
  kConstantData = 1u << 1,
};

struct OpDef {
  const char* op_type;
  int since_opset;  // oldest opset whose semantics are implemented
  void (*infer)(InferContext& ctx);
  // The runtime step; null for ops whose outputs always fold (Shape, Constant).
  std::unique_ptr<Step> (*make_step)(const StepArgs& args) = nullptr;
  // Multiply-adds per output element (Conv, Gemm, MatMul); null: none.
  int64_t (*macs_per_output)(const Graph& graph, const Node& node) = nullptr;
  // Other work per output element beyond reading and writing it (pooling
  // window taps); only bounds the run cost (EngineOptions::max_run_ops).
  int64_t (*taps_per_output)(const Graph& graph, const Node& node) = nullptr;
  // The activation this node computes, when a kernel can fuse it.
  bool (*activation)(const Graph& graph, const Node& node, kernels::Epilogue* ep) = nullptr;
  // x * this(x) as one fused activation (x * HardSigmoid(x) -> hardswish, x * Sigmoid(x) -> SiLU).
  bool (*gate)(const Node& node, kernels::Epilogue* ep) = nullptr;
  uint32_t flags = 0;
  Absorbs absorbs = Absorbs::kNothing;
  FuseRole role = FuseRole::kNone;
  // The attributes it reads and the string values it knows, space-separated
  // (the fuzz dictionary; engine_graph_test checks the test models' attributes
  // against it).
  const char* attributes = "";
};

const OpDef* find_op(std::string_view op_type);
// Every entry, family by family.
std::vector<const OpDef*> all_ops();

// One span per family file (src/engine/ops/), listed in op_registry.cpp.
namespace ops {
std::span<const OpDef> activation_ops();
std::span<const OpDef> batchnorm_ops();
std::span<const OpDef> binary_ops();
std::span<const OpDef> conv_ops();
std::span<const OpDef> matmul_ops();
std::span<const OpDef> movement_ops();
std::span<const OpDef> pad_ops();
std::span<const OpDef> pool_ops();
std::span<const OpDef> reduce_ops();
std::span<const OpDef> reshape_ops();
std::span<const OpDef> shape_ops();
std::span<const OpDef> softmax_ops();
}  // namespace ops

}  // namespace iciia::engine
