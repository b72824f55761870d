// Where an ONNX image classifier's features are: the input of its final
// classifier layer (docs/design.md, "Model bundle": `backbone.features`).
// `iciia bundle` and `iciia extract` use it for a model that carries no
// "iciia.backbone" metadata (one exported from PyTorch, say), so a user
// need not read the graph to name the tensors.
#pragma once

#include <string>

#include "onnx/onnx_model.h"

namespace iciia {

struct ClassifierHead {
  std::string input;     // the image input: the first graph input that is not an initializer
  std::string features;  // what the final Gemm / MatMul consumes
  std::string logits;    // that layer's output (its bias Add's, for MatMul + Add), before any Softmax
};

// Looks at the graph outputs that no node consumes, in order, and walks back
// from each through Softmax, LogSoftmax, Identity, Dropout, Flatten, Reshape
// and Squeeze to a Gemm, a MatMul, or an Add of a MatMul and a constant, whose
// weights are constants (initializers or Constant nodes); the first output
// that leads to one gives the head. torchvision's classifiers (ResNet's `fc`,
// MobileNet's last `classifier` Linear, with or without a Softmax appended)
// all end that way. kUnsupported naming `source` and what was looked for when
// no output does; kFormat when the graph has no image input.
ClassifierHead find_classifier_head(const OnnxGraph& graph, const std::string& source);

}  // namespace iciia
