// Factories of the runtime steps, one family per file in src/engine/ops/
// (*_exec.cpp). Each gets the node, the slots of its values (offsets already
// planned) and what fusion decided.
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
  const Slot& slot(int id) const { return slots[id]; }
  int input(size_t i) const { return node.inputs[i]; }
  bool has_input(size_t i) const { return i < node.inputs.size() && node.inputs[i] >= 0; }
  // The constant operand of bias_add.
  const Value& bias_constant() const {
    const Value& v0 = value(bias_add->inputs[0]);
    return v0.constant ? v0 : value(bias_add->inputs[1]);
  }
};

std::unique_ptr<Step> make_conv_step(const StepArgs& a);
std::unique_ptr<Step> make_gemm_step(const StepArgs& a);        // Gemm, MatMul with constant 2-D B (packed)
std::unique_ptr<Step> make_matmul_step(const StepArgs& a);      // MatMul / Gemm in general: batched, runtime B, any layout
std::unique_ptr<Step> make_activation_step(const StepArgs& a);  // Relu, Clip, Sigmoid, HardSigmoid, HardSwish
std::unique_ptr<Step> make_binary_step(const StepArgs& a);      // Add, Sub, Mul, Div
std::unique_ptr<Step> make_pool_step(const StepArgs& a);        // MaxPool, AveragePool, GlobalAveragePool (rank 4)
std::unique_ptr<Step> make_copy_step(const StepArgs& a);        // Reshape family when storage order changes
std::unique_ptr<Step> make_concat_step(const StepArgs& a);      // strided_exec.cpp
std::unique_ptr<Step> make_transpose_step(const StepArgs& a);   // strided_exec.cpp
std::unique_ptr<Step> make_slice_step(const StepArgs& a);       // strided_exec.cpp
std::unique_ptr<Step> make_split_step(const StepArgs& a);       // strided_exec.cpp
std::unique_ptr<Step> make_gather_step(const StepArgs& a);      // strided_exec.cpp: constant indices
std::unique_ptr<Step> make_pad_step(const StepArgs& a);         // constant, reflect, edge
std::unique_ptr<Step> make_reduce_mean_step(const StepArgs& a);  // ReduceMean; GlobalAveragePool below rank 4
std::unique_ptr<Step> make_softmax_step(const StepArgs& a);
std::unique_ptr<Step> make_batchnorm_step(const StepArgs& a);   // standalone BatchNormalization (+ activation)

// The activation a standalone node computes, if it is one the kernels fuse.
bool activation_of(const Graph& graph, const Node& node, kernels::Epilogue* ep);

// ---- Storage helpers (layout_exec.cpp) ----

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
