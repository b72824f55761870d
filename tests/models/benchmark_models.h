// Full-size benchmark models the shared folder lacks, built with the test
// model Builder and random weights: what matters is the graph (its ops,
// shapes and multiply-adds), as torchvision exports it.
#pragma once

#include "test_models.h"

namespace iciia::test_models {

// torchvision's ResNet-18 at 224x224 (1.82 G multiply-adds): the dense 3x3
// convolution net of the backbone benchmark. BatchNorm is kept as separate
// nodes (an export without folding), so the engine folds it.
inline TestModel resnet18() {
  Builder b("resnet18", 13, {1, 3, 224, 224}, 18);
  auto relu = [&](const std::string& x) { return b.op("Relu", {x}); };
  std::string x = relu(b.bn(b.conv_attrs("input", 3, 64, 7, 7,
                                         {onnx_build::attr_ints("pads", {3, 3, 3, 3}),
                                          onnx_build::attr_ints("strides", {2, 2})},
                                         1, /*bias=*/false),
                            64));
  x = b.op("MaxPool", {x},
           {onnx_build::attr_ints("kernel_shape", {3, 3}), onnx_build::attr_ints("pads", {1, 1, 1, 1}),
            onnx_build::attr_ints("strides", {2, 2})});
  int64_t c = 64;
  for (int64_t width : {64, 128, 256, 512}) {
    for (int block = 0; block < 2; ++block) {
      const int64_t stride = (block == 0 && width != 64) ? 2 : 1;
      const std::string h = relu(b.bn(b.conv(x, c, width, 3, 1, stride), width));
      const std::string y = b.bn(b.conv(h, width, width, 3, 1), width);
      const std::string shortcut = stride != 1 ? b.bn(b.conv(x, c, width, 1, 0, stride), width) : x;
      x = relu(b.op("Add", {y, shortcut}));
      c = width;
    }
  }
  x = b.op("Flatten", {b.op("GlobalAveragePool", {x})}, {onnx_build::attr_int("axis", 1)});
  b.output(b.op("Gemm", {x, b.weight({1000, 512}, 0.05f), b.weight({1000}, 0.1f)},
                {onnx_build::attr_int("transB", 1)}));
  return b.finish();
}

}  // namespace iciia::test_models
