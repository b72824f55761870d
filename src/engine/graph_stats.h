// What an inferred graph will cost: multiply-adds of the compute ops and how
// many nodes remain after folding. The backbone benchmark divides MACs by
// time for its "% of SIMD128 peak" column.
#pragma once

#include <map>
#include <string>

#include "engine/graph.h"

namespace iciia::engine {

struct GraphStats {
  int64_t macs = 0;                         // Conv, Gemm, MatMul multiply-adds
  int runtime_nodes = 0;                    // nodes not folded at load time
  std::map<std::string, int> op_histogram;  // runtime nodes per op type
};

GraphStats graph_stats(const Graph& graph);  // graph must be inferred

}  // namespace iciia::engine
