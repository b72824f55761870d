// What a family file (src/engine/ops/) needs to build its runtime steps:
// the arguments of a step factory (OpDef::make_step) and the storage helpers.
//
// Storage rule (plan.h): a runtime rank-4 float value is stored NHWC, every
// other value (and every constant) row-major in its logical order. Steps that
// move data between arbitrary layouts describe both sides by the storage
// stride of each logical axis (storage_strides) and copy with StridedCopy.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/graph.h"
#include "engine/plan.h"
#include "engine/op_registry.h"
#include "kernels/activation.h"

namespace iciia::engine {

struct StepArgs {
  const Graph& graph;
  const Node& node;
  const std::vector<Slot>& slots;
  int output;                  // value id written (after fusion, the last fused node's output)
  kernels::Epilogue epilogue;  // fused activation
  int residual = -1;           // value id added before the activation (Conv only)
  const Node* batchnorm = nullptr;  // BatchNormalization folded into this Conv
  const Node* bias_add = nullptr;   // Add of a constant per-output-channel bias folded into a Conv / Gemm / MatMul
  std::vector<int> outputs = {};    // every output value id (several for Split; -1: omitted)

  const Value& value(int id) const { return graph.values[id]; }
  const Value& in(size_t i) const { return graph.values[node.inputs[i]]; }
  const Value& out() const { return graph.values[output]; }
  const Slot& slot(int id) const { return slots[id]; }
  int input(size_t i) const { return node.inputs[i]; }
  bool has_input(size_t i) const { return i < node.inputs.size() && node.inputs[i] >= 0; }
  std::string fused_suffix() const;  // " +residual +relu": what fusion added, for Step::kind
  // The constant operand of bias_add.
  const Value& bias_constant() const {
    const Value& v0 = value(bias_add->inputs[0]);
    return v0.constant ? v0 : value(bias_add->inputs[1]);
  }
};

// ---- Storage helpers (steps.cpp) ----

// Whether the bytes of a value stored as `slot` are in its logical row-major order.
bool storage_is_logical(const Value& v, const Slot& slot);
// Storage stride (in floats) of each logical axis of v; row-major for
// constants and non-NHWC slots.
std::vector<int64_t> storage_strides(const Value& v, const Slot& slot);
// Storage offset of every index of `dims` (enumerated row-major) when axis k
// advances by strides[k]: the element lists of reductions and softmax groups.
std::vector<int64_t> index_offsets(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides);

// dst[sum_k i_k * dst_strides[k]] = src[sum_k i_k * src_strides[k]] for every
// index i < dims. make() drops unit axes, orders the axes by the destination's
// strides and merges axes that are contiguous on both sides, so a copy of a
// contiguous block becomes one memcpy and a channel-slice of an NHWC tensor a
// memcpy per pixel.
struct StridedCopy {
  std::vector<int64_t> dims, src_strides, dst_strides;

  static StridedCopy make(const std::vector<int64_t>& dims, const std::vector<int64_t>& src_strides,
                          const std::vector<int64_t>& dst_strides);
  int64_t numel() const;
  void run(const float* src, float* dst) const;
};

}  // namespace iciia::engine
