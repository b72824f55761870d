#include "engine/graph_stats.h"

namespace iciia::engine {

GraphStats graph_stats(const Graph& g) {
  GraphStats s;
  for (const Node& n : g.nodes) {
    if (n.folded) continue;
    ++s.runtime_nodes;
    ++s.op_histogram[n.op_type()];
    const Value& out = g.values[n.outputs[0]];
    if (n.op_type() == "Conv") {
      const Value& w = g.values[n.inputs[1]];
      s.macs += out.numel() * w.dims[1] * w.dims[2] * w.dims[3];
    } else if (n.op_type() == "Gemm" || n.op_type() == "MatMul") {
      const Value& a = g.values[n.inputs[0]];
      const bool ta = n.op_type() == "Gemm" && n.onnx.attr_int("transA", 0) != 0;
      const int64_t k = ta ? a.dims[0] : a.dims.back();
      s.macs += out.numel() * k;
    }
  }
  return s;
}

}  // namespace iciia::engine
