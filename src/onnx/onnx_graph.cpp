// Semantic checks and topological order of a decoded ONNX graph (see onnx_model.h).
#include <algorithm>
#include <functional>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "onnx/onnx_model.h"
#include "util/error.h"
#include "util/text.h"

namespace iciia {
namespace {

// (Built by appending: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string&&.)
std::string quoted(std::string_view s) {
  std::string out(1, '\'');
  out += printable(s);
  out += '\'';
  return out;
}

std::string describe_node(const OnnxGraph& g, size_t i) {
  const OnnxNode& node = g.nodes[i];
  std::string s = "node #";
  s += std::to_string(i);
  if (!node.name.empty()) {
    s += ' ';
    s += quoted(node.name);
  }
  s += " (";
  s += node.op_type.empty() ? std::string("no op_type") : printable(node.op_type);
  s += ')';
  return s;
}

[[noreturn]] void fail(const std::string& problem) { throw Error(ErrorCode::kFormat, "ONNX graph: " + problem); }

}  // namespace

std::vector<size_t> topological_order(const OnnxGraph& g) {
  const size_t n = g.nodes.size();
  // The first node producing each value; values no node produces are graph
  // inputs or initializers (or dangling, which validate_graph reports).
  std::unordered_map<std::string_view, size_t> producer;
  producer.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& out : g.nodes[i].outputs) {
      if (!out.empty()) producer.emplace(out, i);
    }
  }
  // Edges producer -> consumer, one per input occurrence, in CSR form.
  std::vector<size_t> indegree(n, 0), first(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& in : g.nodes[i].inputs) {
      if (in.empty()) continue;
      const auto it = producer.find(in);
      if (it == producer.end()) continue;
      ++indegree[i];
      ++first[it->second + 1];
    }
  }
  for (size_t i = 0; i < n; ++i) first[i + 1] += first[i];
  std::vector<size_t> consumers(first[n]);
  {
    std::vector<size_t> fill(first.begin(), first.end() - 1);
    for (size_t i = 0; i < n; ++i) {
      for (const auto& in : g.nodes[i].inputs) {
        if (in.empty()) continue;
        const auto it = producer.find(in);
        if (it != producer.end()) consumers[fill[it->second]++] = i;
      }
    }
  }
  // Kahn's algorithm, lowest ready index first.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t i = 0; i < n; ++i) {
    if (indegree[i] == 0) ready.push(i);
  }
  std::vector<size_t> order;
  order.reserve(n);
  std::vector<bool> done(n, false);
  while (!ready.empty()) {
    const size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    done[i] = true;
    for (size_t e = first[i]; e < first[i + 1]; ++e) {
      if (--indegree[consumers[e]] == 0) ready.push(consumers[e]);
    }
  }
  if (order.size() == n) return order;

  // Some nodes wait on each other. Walk back from the lowest of them along
  // inputs whose producer is also waiting until a node repeats: that is a cycle.
  size_t start = 0;
  while (done[start]) ++start;
  std::vector<size_t> path;              // nodes visited
  std::vector<std::string_view> via;     // via[k]: the input of path[k] that leads to path[k+1]
  std::unordered_map<size_t, size_t> seen;  // node -> position in path
  size_t cur = start;
  while (seen.find(cur) == seen.end()) {
    seen.emplace(cur, path.size());
    path.push_back(cur);
    size_t next = n;
    std::string_view value;
    for (const auto& in : g.nodes[cur].inputs) {
      if (in.empty()) continue;
      const auto it = producer.find(in);
      if (it != producer.end() && !done[it->second]) {
        next = it->second;
        value = in;
        break;
      }
    }
    if (next == n) break;  // cannot happen: a waiting node has a waiting producer
    via.push_back(value);
    cur = next;
  }
  std::string msg = "the graph has a cycle: ";
  const size_t from = seen.count(cur) ? seen[cur] : 0;
  for (size_t k = from; k < path.size(); ++k) {
    msg += describe_node(g, path[k]);
    if (k < via.size()) msg += " reads " + quoted(via[k]) + " from ";
  }
  msg += describe_node(g, cur);
  fail(msg);
}

void validate_graph(const OnnxGraph& g) {
  enum class Kind { kInput, kInitializer, kNode };
  struct Def {
    Kind kind;
    size_t index;
  };
  std::unordered_map<std::string_view, Def> defs;
  defs.reserve(g.inputs.size() + g.initializers.size() + g.nodes.size() * 2);

  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const std::string& name = g.inputs[i].name;
    if (name.empty()) fail("graph input #" + std::to_string(i) + " has no name");
    if (!defs.emplace(name, Def{Kind::kInput, i}).second) fail("graph input " + quoted(name) + " is listed twice");
  }
  for (size_t i = 0; i < g.initializers.size(); ++i) {
    const std::string& name = g.initializers[i].name;
    if (name.empty()) fail("initializer #" + std::to_string(i) + " has no name");
    const auto [it, inserted] = defs.emplace(name, Def{Kind::kInitializer, i});
    if (!inserted) {
      // An initializer may also be listed as a graph input (IR version < 4 requires it).
      if (it->second.kind != Kind::kInput) fail("initializer " + quoted(name) + " appears twice");
      it->second = Def{Kind::kInitializer, i};
    }
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const OnnxNode& node = g.nodes[i];
    if (node.op_type.empty()) fail(describe_node(g, i) + " has no op_type");
    for (const auto& out : node.outputs) {
      if (out.empty()) continue;  // an omitted optional output
      const auto [it, inserted] = defs.emplace(out, Def{Kind::kNode, i});
      if (inserted) continue;
      std::string other;
      switch (it->second.kind) {
        case Kind::kInput: other = "a graph input"; break;
        case Kind::kInitializer: other = "an initializer"; break;
        case Kind::kNode:
          other = it->second.index == i ? std::string("another of its own outputs")
                                        : "an output of " + describe_node(g, it->second.index);
          break;
      }
      fail(describe_node(g, i) + " outputs " + quoted(out) + ", which is already " + other);
    }
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& in : g.nodes[i].inputs) {
      if (in.empty()) continue;  // an omitted optional input
      if (defs.find(in) == defs.end()) {
        fail(describe_node(g, i) + " reads " + quoted(in) +
             ", which no graph input, initializer or node produces (dangling input)");
      }
    }
  }
  topological_order(g);
  std::unordered_set<std::string_view> outputs;
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const std::string& name = g.outputs[i].name;
    if (name.empty()) fail("graph output #" + std::to_string(i) + " has no name");
    if (!outputs.insert(name).second) fail("graph output " + quoted(name) + " is listed twice");
    if (defs.find(name) == defs.end()) fail("graph output " + quoted(name) + " is produced by nothing");
  }
}

}  // namespace iciia
