// Factories of the runtime steps, one family per file in src/engine/ops/
// (*_exec.cpp). Each gets the node, the slots of its values (offsets already
// planned) and what fusion decided.
#pragma once

#include <memory>

#include "engine/graph.h"
#include "engine/plan.h"
#include "kernels/activation.h"

namespace iciia::engine {

struct StepArgs {
  const Graph& graph;
  const Node& node;
  const std::vector<Slot>& slots;
  int output;                // value id written (after fusion, the last fused node's output)
  kernels::Epilogue epilogue;  // fused activation
  int residual = -1;         // value id added before the activation (Conv only)
  const Node* batchnorm = nullptr;  // BatchNormalization folded into this Conv

  const Value& value(int id) const { return graph.values[id]; }
  const Slot& slot(int id) const { return slots[id]; }
  int input(size_t i) const { return node.inputs[i]; }
};

std::unique_ptr<Step> make_conv_step(const StepArgs& a);
std::unique_ptr<Step> make_gemm_step(const StepArgs& a);       // Gemm, MatMul with constant B
std::unique_ptr<Step> make_activation_step(const StepArgs& a);  // Relu, Clip, Sigmoid, HardSigmoid, HardSwish
std::unique_ptr<Step> make_binary_step(const StepArgs& a);      // Add, Sub, Mul, Div
std::unique_ptr<Step> make_pool_step(const StepArgs& a);        // MaxPool, AveragePool, GlobalAveragePool
std::unique_ptr<Step> make_copy_step(const StepArgs& a);        // Reshape family when storage order changes
std::unique_ptr<Step> make_concat_step(const StepArgs& a);
std::unique_ptr<Step> make_softmax_step(const StepArgs& a);

// The activation a standalone node computes, if it is one the kernels fuse.
bool activation_of(const Graph& graph, const Node& node, kernels::Epilogue* ep);

}  // namespace iciia::engine
