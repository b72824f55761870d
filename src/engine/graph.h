// The engine's graph: ONNX nodes resolved against the op table, values with
// shapes and (where known at load time) constant contents.
//
// Lifecycle (XNNPACK-style create -> reshape -> run): build_graph() turns an
// OnnxModel into a Graph; infer() fixes every shape for one input shape and
// folds every node whose inputs are all constant (the Shape/Gather/Concat
// arithmetic exporters emit), so what remains is the work of a real inference.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "onnx/onnx_model.h"

namespace iciia::engine {

enum class ValueDType : uint8_t { kFloat32, kInt64 };
const char* dtype_name(ValueDType dtype);

struct OpDef;

struct Value {
  std::string name;
  ValueDType dtype = ValueDType::kFloat32;
  bool shape_known = false;
  std::vector<int64_t> dims;  // logical ONNX shape (NCHW for images)
  bool constant = false;      // initializer or folded: contents below
  std::vector<float> f32;
  std::vector<int64_t> i64;
  int producer = -1;  // node index; -1 for graph inputs and initializers
  std::vector<int64_t> declared;  // graph inputs: dims as the file gives them, -1 = open

  int64_t numel() const;
  std::string describe() const;  // "'name' f32[1, 3, 224, 224]"
};

struct Node {
  OnnxNode onnx;  // name, op_type, attributes (and their typed getters) as in the file
  const OpDef* def = nullptr;
  std::vector<int> inputs;  // value ids; -1 = omitted optional input
  std::vector<int> outputs;
  bool folded = false;  // every output became a constant at load time

  const std::string& op_type() const { return onnx.op_type; }
  std::string label() const { return onnx.label(); }
};

struct Graph {
  int64_t opset = 0;
  std::vector<Value> values;
  std::vector<Node> nodes;  // topological order
  std::vector<int> inputs;  // graph inputs that are not initializers
  std::vector<int> outputs;

  int find(std::string_view name) const;  // -1 if absent
  int add_value(Value v);

 private:
  std::unordered_map<std::string, int> by_name_;
};

struct BuildOptions {
  // Graph inputs whose shape the file leaves open (batch size, ...) get these.
  std::map<std::string, std::vector<int64_t>> input_dims;
  // Bounds checked as each node is inferred (Error kLimit naming the node
  // and value): elements of any one value, also each dim and the product of
  // the non-zero dims; and elements of all folded constants together.
  int64_t max_value_elements = std::numeric_limits<int64_t>::max();
  int64_t max_folded_elements = std::numeric_limits<int64_t>::max();
};

// Resolves every node against the op table (an op this engine lacks, or one
// used at an opset outside what the table supports, is an error naming the
// op, the node and the opset), converts initializers to constants, orders
// nodes topologically. Throws iciia::Error.
Graph build_graph(const OnnxModel& model);

// Fixes shapes for the given input dims (every graph input needs known dims,
// from the file or from input_dims) and folds constant subgraphs.
void infer(Graph& graph, const BuildOptions& options = {});

}  // namespace iciia::engine
