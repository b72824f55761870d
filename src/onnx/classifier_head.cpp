#include "onnx/classifier_head.h"

#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "util/error.h"

namespace iciia {

namespace {

// Ops a classifier's output may pass through after its last linear layer
// (exporters append them; none changes which values the layer consumed).
const std::set<std::string, std::less<>> kPassThrough = {"Softmax", "LogSoftmax", "Identity", "Dropout",
                                                         "Flatten", "Reshape",    "Squeeze"};
// A chain longer than this is not a classifier's tail.
constexpr int kMaxTail = 8;

bool default_domain(const OnnxNode& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

struct Graph {
  std::unordered_map<std::string_view, const OnnxNode*> producer;
  std::unordered_set<std::string_view> constants, consumed;

  explicit Graph(const OnnxGraph& g) {
    for (const auto& t : g.initializers) constants.insert(t.name);
    for (const auto& n : g.nodes) {
      for (const auto& o : n.outputs)
        if (!o.empty()) producer.emplace(o, &n);
      if (n.op_type == "Constant" && default_domain(n))
        for (const auto& o : n.outputs) constants.insert(o);
      for (const auto& i : n.inputs) consumed.insert(i);
    }
  }
  bool is_const(const std::string& v) const { return constants.contains(v); }
  const OnnxNode* made_by(const std::string& v) const {
    const auto it = producer.find(v);
    return it == producer.end() ? nullptr : it->second;
  }
  // The non-constant operand of a linear layer whose weights are constant.
  std::optional<std::string> linear_input(const OnnxNode& n) const {
    if (!default_domain(n) || n.inputs.size() < 2) return std::nullopt;
    if (n.op_type == "Gemm" && !is_const(n.inputs[0]) && is_const(n.inputs[1])) return n.inputs[0];
    if (n.op_type == "MatMul") {
      if (!is_const(n.inputs[0]) && is_const(n.inputs[1])) return n.inputs[0];
      if (is_const(n.inputs[0]) && !is_const(n.inputs[1])) return n.inputs[1];
    }
    return std::nullopt;
  }
};

std::optional<ClassifierHead> head_of(const Graph& g, const std::string& output) {
  std::string v = output;
  for (int step = 0; step < kMaxTail; ++step) {
    const OnnxNode* n = g.made_by(v);
    if (!n || !default_domain(*n) || n->inputs.empty()) return std::nullopt;
    if (kPassThrough.contains(n->op_type)) {
      v = n->inputs[0];
      continue;
    }
    if (auto in = g.linear_input(*n)) return ClassifierHead{"", *in, v};
    // A Linear exported as MatMul followed by the bias Add.
    if (n->op_type == "Add" && n->inputs.size() == 2)
      for (int side = 0; side < 2; ++side) {
        if (!g.is_const(n->inputs[1 - side])) continue;
        const OnnxNode* mm = g.made_by(n->inputs[side]);
        if (mm && mm->op_type == "MatMul")
          if (auto in = g.linear_input(*mm)) return ClassifierHead{"", *in, v};
      }
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

ClassifierHead find_classifier_head(const OnnxGraph& graph, const std::string& source) {
  const Graph g(graph);
  std::string input;
  for (const auto& in : graph.inputs)
    if (!g.is_const(in.name)) {
      input = in.name;
      break;
    }
  if (input.empty()) throw Error(ErrorCode::kFormat, source + ": the graph has no input (every input is an initializer)");
  std::string tried;
  for (const auto& out : graph.outputs) {
    if (g.consumed.contains(out.name)) continue;  // an intermediate value exposed as an output (e.g. features)
    if (auto head = head_of(g, out.name)) {
      head->input = input;
      return *head;
    }
    tried += (tried.empty() ? "'" : ", '") + out.name + "'";
  }
  throw Error(ErrorCode::kUnsupported,
              source + ": cannot find the classifier layer: no graph output (" + (tried.empty() ? "none" : tried) +
                  ") comes from a Gemm or MatMul with constant weights (through Softmax, Flatten, Reshape, Identity, "
                  "Dropout or Squeeze at most), so the features (its input) are unknown: name them with --features "
                  "and --logits");
}

}  // namespace iciia
