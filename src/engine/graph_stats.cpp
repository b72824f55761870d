#include "engine/graph_stats.h"

#include "engine/op_registry.h"

namespace iciia::engine {

GraphStats graph_stats(const Graph& g) {
  GraphStats s;
  for (const Node& n : g.nodes) {
    if (n.folded) continue;
    ++s.runtime_nodes;
    ++s.op_histogram[n.op_type()];
    if (n.def->macs_per_output) s.macs += g.values[n.outputs[0]].numel() * n.def->macs_per_output(g, n);
  }
  return s;
}

}  // namespace iciia::engine
