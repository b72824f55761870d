// From an inferred graph to something that runs: fused steps with packed
// weights and one arena whose offsets come from value lifetimes.
//
// Storage: every runtime rank-4 float value is kept NHWC (what the kernels
// want); everything else row-major in its logical order. A step reads and
// writes arena offsets only, so a plan runs with no allocation.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "kernels/parallel.h"

namespace iciia::engine {

struct Slot {
  int64_t offset = -1;  // floats into the arena; -1: not a runtime value
  int64_t size = 0;     // floats
  bool nhwc = false;    // rank-4 value stored [n][h][w][c]
};

class Step {
 public:
  virtual ~Step() = default;
  // arena: the plan's values; scratch: Plan::scratch_floats floats per
  // worker of par (par.scratch_stride apart), shared by all steps, and at
  // least Plan::shared_scratch_floats from its start. A step may spread its
  // work over par's threads.
  virtual void run(float* arena, float* scratch, const kernels::Parallel& par) const = 0;
  // Floats of scratch per worker.
  virtual int64_t scratch_floats() const { return 0; }
  // Floats of scratch its threads share (one buffer whose parts they write),
  // instead of one each: counted once, not once per thread.
  virtual int64_t shared_scratch_floats() const { return 0; }
  std::string label;  // the node(s) it runs, for errors and profiles
  std::string kind;   // e.g. "conv 3x3 depthwise +hardswish", for profiles
  int64_t macs = 0;
  std::vector<int> nodes;  // graph node indices it runs: its own first, then those fused into it
};

struct Plan {
  std::vector<std::unique_ptr<Step>> steps;
  std::vector<Slot> slots;  // per value id
  int64_t arena_floats = 0;
  int64_t scratch_floats = 0;         // per worker, shared by all steps, after the values
  int64_t shared_scratch_floats = 0;  // once for all workers, from the same start
};

// `keep`: value ids whose contents must survive the run (graph outputs and
// requested intermediates): never fused away, never overwritten.
Plan build_plan(const Graph& graph, const std::vector<int>& keep);

// NCHW <-> NHWC copies for the boundary of a plan.
void nchw_to_nhwc(const float* in, int n, int c, int h, int w, float* out);
void nhwc_to_nchw(const float* in, int n, int h, int w, int c, float* out);

}  // namespace iciia::engine
