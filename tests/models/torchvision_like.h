// A small classifier with torchvision's ResNet layout, as a user's own model
// exported by torch.onnx.export would reach `iciia bundle`: no
// "iciia.backbone" metadata, an open batch dimension, BatchNorm as separate
// nodes, value names chosen by the builder rather than "features"/"logits".
// Random weights: the end-to-end test of "Your own model" (README) checks
// that the tool finds and wires its tensors, not what it recognises.
#pragma once

#include "test_models.h"

namespace iciia::test_models {

struct TorchvisionLike {
  TestModel model;
  std::string features, logits;  // the input and output of its final Gemm (`fc`)
  int64_t dim = 0, classes = 0;
};

// conv 7x7/2 + BN + ReLU, max pool 3x3/2, two BasicBlocks (16 then 32
// channels, the second strided with a 1x1 downsample), global average pool,
// Flatten, fc: RGB [N, 3, size, size] -> `classes` logits.
inline TorchvisionLike torchvision_like_resnet(int64_t classes = 3, int64_t size = 32) {
  Builder b("tiny_resnet", 13, {-1, 3, size, size}, 7);
  auto relu = [&](const std::string& x) { return b.op("Relu", {x}); };
  std::string x = relu(b.bn(b.conv_attrs("input", 3, 16, 7, 7,
                                         {onnx_build::attr_ints("pads", {3, 3, 3, 3}),
                                          onnx_build::attr_ints("strides", {2, 2})},
                                         1, /*bias=*/false),
                            16));
  x = b.op("MaxPool", {x},
           {onnx_build::attr_ints("kernel_shape", {3, 3}), onnx_build::attr_ints("pads", {1, 1, 1, 1}),
            onnx_build::attr_ints("strides", {2, 2})});
  int64_t c = 16;
  for (int64_t width : {16, 32}) {
    const int64_t stride = width == c ? 1 : 2;
    const std::string h = relu(b.bn(b.conv(x, c, width, 3, 1, stride), width));
    const std::string y = b.bn(b.conv(h, width, width, 3, 1), width);
    const std::string shortcut = stride != 1 ? b.bn(b.conv(x, c, width, 1, 0, stride), width) : x;
    x = relu(b.op("Add", {y, shortcut}));
    c = width;
  }
  TorchvisionLike t;
  t.features = b.op("Flatten", {b.op("GlobalAveragePool", {x})}, {onnx_build::attr_int("axis", 1)});
  t.logits = b.op("Gemm", {t.features, b.weight({classes, c}, 0.5f), b.weight({classes}, 0.1f)},
                  {onnx_build::attr_int("transB", 1)});
  b.output(t.logits);
  t.model = b.finish();
  t.dim = c;
  t.classes = classes;
  return t;
}

}  // namespace iciia::test_models
