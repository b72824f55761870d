// The engine's op test models: one small ONNX model per op and per fused
// pattern, built with onnx_build from fixed-seed random weights. Each has one
// float input named `input` and one or more float graph outputs.
//
// make_test_models.cpp writes them to a folder (for the Node tests, which
// compare the wasm engine with onnxruntime-web and with the native build);
// tests/native/engine_ops_test.cpp includes this header to check what the
// plan made of each (fusions) without onnxruntime.
//
// Odd channel counts (3, 5, 7, 13) and spatial sizes throughout; opsets 11,
// 13, 14 and 17 spread among the models.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "onnx/onnx_model.h"
#include "onnx/onnx_writer.h"

namespace iciia::test_models {

struct TestModel {
  std::string name;
  OnnxModel model;
  std::vector<int64_t> input_dims;  // what to run it on (the model may leave the batch open)
  // What the plan must make of it: the exact number of steps (-1: not
  // checked) and substrings that must each occur in some step's kind.
  int steps = -1;
  std::vector<std::string> kinds;
};

// Builds one model node by node; names every node and value after its op.
class Builder {
 public:
  Builder(std::string name, int64_t opset, std::vector<int64_t> input_dims, uint32_t seed = 1)
      : name_(std::move(name)), opset_(opset), dims_(std::move(input_dims)), state_(seed * 2654435761u + 12345u) {
    graph_.name = name_;
    std::vector<OnnxDim> shape;  // an open dim is the symbolic batch size, as exporters write it
    for (int64_t d : dims_) shape.push_back(d >= 0 ? OnnxDim{d, ""} : OnnxDim{-1, "batch_size"});
    graph_.inputs.push_back(onnx_build::symbolic_value_info("input", OnnxDataType::kFloat, shape));
  }

  int64_t opset() const { return opset_; }

  // Uniform in [-scale, scale).
  std::vector<float> random(int64_t n, float scale) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 17;
      state_ ^= state_ << 5;
      x = scale * (static_cast<float>(state_ >> 8) / 8388608.f - 1.f);
    }
    return v;
  }

  std::string floats(const std::vector<int64_t>& dims, const std::vector<float>& values) {
    const std::string n = fresh("c");
    graph_.initializers.push_back(onnx_build::float_tensor(n, dims, values));
    return n;
  }
  std::string weight(const std::vector<int64_t>& dims, float scale) { return floats(dims, random(numel(dims), scale)); }
  std::string ints(const std::vector<int64_t>& dims, const std::vector<int64_t>& values) {
    const std::string n = fresh("i");
    graph_.initializers.push_back(onnx_build::int64_tensor(n, dims, values));
    return n;
  }
  std::string ints(const std::vector<int64_t>& values) { return ints({static_cast<int64_t>(values.size())}, values); }
  std::string scalar(float v) { return floats({}, {v}); }

  // A node with `outputs` fresh outputs; returns their names.
  std::vector<std::string> ops(const std::string& op, const std::vector<std::string>& inputs, size_t outputs,
                               std::vector<OnnxAttribute> attrs = {}) {
    std::vector<std::string> outs;
    const std::string id = fresh(op);
    for (size_t i = 0; i < outputs; ++i) outs.push_back(id + (outputs > 1 ? "_out" + std::to_string(i) : "_out"));
    graph_.nodes.push_back(onnx_build::node(op, inputs, outs, std::move(attrs), id));
    return outs;
  }
  // A node whose single output gets a chosen name (e.g. `features`).
  std::string named(const std::string& name, const std::string& op_type, const std::vector<std::string>& inputs,
                    std::vector<OnnxAttribute> attrs = {}) {
    graph_.nodes.push_back(onnx_build::node(op_type, inputs, {name}, std::move(attrs), fresh(op_type)));
    return name;
  }
  std::string op(const std::string& op_type, const std::vector<std::string>& inputs,
                 std::vector<OnnxAttribute> attrs = {}) {
    return ops(op_type, inputs, 1, std::move(attrs))[0];
  }

  // Conv with random weights ([out_c, in_c / group, kh, kw], scaled by the fan-in) and bias.
  std::string conv_attrs(const std::string& x, int64_t in_c, int64_t out_c, int64_t kh, int64_t kw,
                         std::vector<OnnxAttribute> attrs, int64_t group = 1, bool bias = true) {
    const float scale = 1.5f / std::sqrt(static_cast<float>(in_c / group * kh * kw));
    std::vector<std::string> in = {x, weight({out_c, in_c / group, kh, kw}, scale)};
    if (bias) in.push_back(weight({out_c}, 0.2f));
    if (group != 1) attrs.push_back(onnx_build::attr_int("group", group));
    return op("Conv", in, std::move(attrs));
  }
  std::string conv(const std::string& x, int64_t in_c, int64_t out_c, int64_t k, int64_t pad = 0, int64_t stride = 1,
                   int64_t group = 1) {
    return conv_attrs(x, in_c, out_c, k, k,
                      {onnx_build::attr_ints("pads", {pad, pad, pad, pad}),
                       onnx_build::attr_ints("strides", {stride, stride})},
                      group);
  }
  // BatchNormalization with random statistics (positive variance).
  std::string bn(const std::string& x, int64_t c) {
    auto var = random(c, 0.4f);
    for (float& v : var) v += 0.6f;
    return op("BatchNormalization",
              {x, floats({c}, shifted(random(c, 0.3f), 1.f)), weight({c}, 0.3f), weight({c}, 0.3f), floats({c}, var)},
              {onnx_build::attr_float("epsilon", 1e-3f)});
  }
  // Squeeze / Unsqueeze / ReduceMean-style axes: an attribute before opset 13, an input from 13.
  std::string with_axes(const std::string& op_type, const std::string& x, const std::vector<int64_t>& axes) {
    if (opset_ >= 13) return op(op_type, {x, ints(axes)});
    return op(op_type, {x}, {onnx_build::attr_ints("axes", axes)});
  }

  void output(const std::string& name) {
    OnnxValueInfo v;
    v.name = name;
    v.elem_type = OnnxDataType::kFloat;  // shape left to the runtimes
    graph_.outputs.push_back(v);
  }

  TestModel finish(int steps = -1, std::vector<std::string> kinds = {}) {
    std::vector<int64_t> run_dims = dims_;
    for (int64_t& d : run_dims)
      if (d < 0) d = 2;  // an open batch runs with 2
    return TestModel{name_, onnx_build::model(graph_, opset_), run_dims, steps, std::move(kinds)};
  }

 private:
  static int64_t numel(const std::vector<int64_t>& dims) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
  static std::vector<float> shifted(std::vector<float> v, float by) {
    for (float& x : v) x += by;
    return v;
  }
  std::string fresh(const std::string& prefix) { return prefix + "_" + std::to_string(++counter_); }

  std::string name_;
  int64_t opset_;
  std::vector<int64_t> dims_;
  uint32_t state_;
  int counter_ = 0;
  OnnxGraph graph_;
};

inline std::vector<TestModel> all_test_models() {
  namespace ob = onnx_build;
  using ob::attr_float;
  using ob::attr_int;
  using ob::attr_ints;
  using ob::attr_string;
  std::vector<TestModel> out;
  uint32_t seed = 0;

  // ---- Convolutions ----
  {
    Builder b("conv_3x3_pad_stride2", 11, {1, 3, 17, 15}, ++seed);
    b.output(b.conv("input", 3, 5, 3, 1, 2));
    out.push_back(b.finish(1, {"conv 3x3"}));
  }
  {
    Builder b("conv_asymmetric_pads", 13, {1, 5, 10, 9}, ++seed);
    b.output(b.conv_attrs("input", 5, 7, 3, 3, {attr_ints("pads", {0, 1, 2, 1}), attr_ints("strides", {1, 2})}));
    out.push_back(b.finish(1));
  }
  {
    Builder b("conv_grouped", 13, {1, 15, 9, 11}, ++seed);
    const auto g3 = b.conv("input", 15, 21, 3, 1, 1, 3);
    b.output(b.conv(g3, 21, 7, 1, 0, 1, 7));  // 1x1, 7 groups of 3 -> 1
    out.push_back(b.finish(2));
  }
  {
    Builder b("conv_depthwise_5x5", 14, {1, 13, 11, 9}, ++seed);
    const auto dw = b.conv("input", 13, 13, 5, 2, 1, 13);
    b.output(dw);
    b.output(b.conv(dw, 13, 26, 3, 1, 2, 13));  // channel multiplier 2, stride 2
    out.push_back(b.finish(2, {"depthwise"}));
  }
  {
    Builder b("conv_dilated", 17, {1, 5, 19, 13}, ++seed);
    b.output(b.conv_attrs("input", 5, 7, 3, 3, {attr_ints("pads", {2, 3, 2, 3}), attr_ints("dilations", {2, 3})}));
    out.push_back(b.finish(1));
  }
  {
    Builder b("conv_1x1_stride2_batch2", 11, {2, 7, 9, 9}, ++seed);
    b.output(b.conv("input", 7, 5, 1, 0, 2));
    out.push_back(b.finish(1));
  }
  {
    Builder b("conv_auto_pad_same", 13, {1, 3, 13, 11}, ++seed);
    b.output(b.conv_attrs("input", 3, 5, 3, 4, {attr_string("auto_pad", "SAME_UPPER"), attr_ints("strides", {2, 2})}));
    out.push_back(b.finish(1));
  }

  // ---- Conv fusions ----
  {
    Builder b("conv_bn_relu", 11, {1, 3, 15, 13}, ++seed);
    b.output(b.op("Relu", {b.bn(b.conv("input", 3, 5, 3, 1), 5)}));
    out.push_back(b.finish(1, {"+relu"}));
  }
  {
    // ResNet basic block: relu(bn(conv(relu(bn(conv(x))))) + x).
    Builder b("conv_bn_add_relu", 13, {1, 7, 9, 11}, ++seed);
    const auto h = b.op("Relu", {b.bn(b.conv("input", 7, 7, 3, 1), 7)});
    const auto y = b.bn(b.conv(h, 7, 7, 3, 1), 7);
    b.output(b.op("Relu", {b.op("Add", {y, "input"})}));
    out.push_back(b.finish(2, {"+residual +relu"}));
  }
  {
    // ResNet downsampling block, in torchvision's node order: the shortcut
    // conv comes after the main branch, so the Add fuses into it.
    Builder b("conv_bn_add_relu_downsample", 13, {1, 5, 10, 9}, ++seed);
    const auto h = b.op("Relu", {b.bn(b.conv("input", 5, 13, 3, 1, 2), 13)});
    const auto y = b.bn(b.conv(h, 13, 13, 3, 1), 13);
    const auto s = b.bn(b.conv("input", 5, 13, 1, 0, 2), 13);
    b.output(b.op("Relu", {b.op("Add", {y, s})}));
    out.push_back(b.finish(3, {"+residual +relu"}));
  }
  {
    Builder b("conv_hardsigmoid_mul", 13, {1, 3, 11, 11}, ++seed);
    const auto c = b.conv("input", 3, 13, 3, 1);
    const auto g = b.op("HardSigmoid", {c}, {attr_float("alpha", 1.f / 6.f), attr_float("beta", 0.5f)});
    b.output(b.op("Mul", {c, g}));
    out.push_back(b.finish(1, {"+hardswish"}));
  }
  {
    Builder b("conv_silu", 13, {1, 5, 9, 7}, ++seed);
    const auto c = b.conv("input", 5, 7, 3, 1);
    b.output(b.op("Mul", {b.op("Sigmoid", {c}), c}));
    out.push_back(b.finish(1, {"+silu"}));
  }
  {
    Builder b("conv_clip6", 11, {1, 3, 12, 10}, ++seed);
    b.output(b.op("Clip", {b.conv("input", 3, 5, 3, 1, 2), b.scalar(0.f), b.scalar(6.f)}));
    out.push_back(b.finish(1, {"+clip"}));
  }
  {
    Builder b("conv_bias_add_sigmoid", 17, {1, 5, 8, 7}, ++seed);
    const auto c = b.conv_attrs("input", 5, 7, 3, 3, {attr_ints("pads", {1, 1, 1, 1})}, 1, /*bias=*/false);
    b.output(b.op("Sigmoid", {b.op("Add", {c, b.weight({7, 1, 1}, 0.5f)})}));
    out.push_back(b.finish(1, {"+sigmoid"}));
  }

  // ---- Pooling ----
  {
    Builder b("maxpool_ceil", 11, {1, 5, 14, 13}, ++seed);
    b.output(b.op("MaxPool", {"input"}, {attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2}),
                                         attr_int("ceil_mode", 1)}));
    b.output(b.op("MaxPool", {"input"}, {attr_ints("kernel_shape", {3, 2}), attr_ints("strides", {2, 2}),
                                         attr_ints("pads", {1, 0, 1, 1}), attr_int("ceil_mode", 1)}));
    out.push_back(b.finish(2));
  }
  {
    Builder b("maxpool_dilated", 13, {1, 7, 11, 12}, ++seed);
    b.output(b.op("MaxPool", {"input"}, {attr_ints("kernel_shape", {3, 3}), attr_ints("dilations", {2, 2}),
                                         attr_ints("pads", {1, 1, 1, 1})}));
    out.push_back(b.finish(1));
  }
  {
    Builder b("global_max_pool", 13, {2, 13, 7, 6}, 1000);  // its own seed: the others keep theirs
    const auto c = b.conv("input", 13, 13, 3, 1);
    b.output(b.op("GlobalMaxPool", {c}));
    b.output(b.op("GlobalMaxPool", {"input"}));
    out.push_back(b.finish(3, {"GlobalMaxPool"}));
  }
  {
    Builder b("avgpool_pad_include", 13, {1, 5, 11, 10}, ++seed);
    b.output(b.op("AveragePool", {"input"}, {attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2}),
                                             attr_ints("pads", {1, 1, 1, 1}), attr_int("count_include_pad", 1)}));
    b.output(b.op("AveragePool", {"input"}, {attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2}),
                                             attr_ints("pads", {1, 1, 1, 1}), attr_int("ceil_mode", 1)}));
    out.push_back(b.finish(2));
  }

  // ---- Classifier heads, Gemm, MatMul ----
  {
    Builder b("gap_flatten_gemm", 13, {-1, 3, 9, 7}, ++seed);  // open batch
    const auto f = b.op("Flatten", {b.op("GlobalAveragePool", {b.op("Relu", {b.conv("input", 3, 13, 3, 1)})})});
    b.output(b.op("Gemm", {f, b.weight({5, 13}, 0.4f), b.weight({5}, 0.2f)}, {attr_int("transB", 1)}));
    out.push_back(b.finish(3, {"+relu", "gemm"}));
  }
  {
    Builder b("gemm_transb_alpha_beta", 11, {3, 13}, ++seed);
    b.output(b.op("Gemm", {"input", b.weight({7, 13}, 0.4f), b.weight({7}, 0.5f)},
                  {attr_int("transB", 1), attr_float("alpha", 0.7f), attr_float("beta", 1.3f)}));
    out.push_back(b.finish(1, {"gemm"}));
  }
  {
    Builder b("gemm_relu", 13, {2, 13}, ++seed);
    b.output(b.op("Relu", {b.op("Gemm", {"input", b.weight({13, 5}, 0.4f), b.weight({1, 5}, 0.3f)})}));
    out.push_back(b.finish(1, {"gemm +relu"}));
  }
  {
    Builder b("gemm_transa_full_c", 17, {13, 3}, ++seed);
    b.output(b.op("Gemm", {"input", b.weight({13, 7}, 0.4f), b.weight({3, 7}, 0.5f)},
                  {attr_int("transA", 1), attr_float("beta", 0.5f)}));
    out.push_back(b.finish(1, {"matmul"}));
  }
  {
    // nn.Linear on a sequence: MatMul + Add(bias) + Relu, one GEMM.
    Builder b("matmul", 13, {2, 5, 7}, ++seed);
    b.output(b.op("Relu", {b.op("Add", {b.op("MatMul", {"input", b.weight({7, 3}, 0.5f)}), b.weight({3}, 0.3f)})}));
    out.push_back(b.finish(1, {"gemm +relu"}));
  }
  {
    Builder b("matmul_batched_constant", 13, {2, 5, 7}, ++seed);
    b.output(b.op("MatMul", {"input", b.weight({2, 7, 3}, 0.5f)}));
    b.output(b.op("MatMul", {b.weight({5}, 0.5f), "input"}));  // vector times batched matrix
    out.push_back(b.finish(2, {"matmul"}));
  }
  {
    // Attention-like: y = conv(x); softmax(y . y^T) over the last axis, on rank-4 values.
    Builder b("matmul_runtime_rhs", 14, {1, 3, 5, 6}, ++seed);
    const auto y = b.conv("input", 3, 5, 1);
    const auto t = b.op("Transpose", {y}, {attr_ints("perm", {0, 1, 3, 2})});
    b.output(b.op("Softmax", {b.op("MatMul", {y, t})}));
    out.push_back(b.finish(4, {"transpose", "matmul", "softmax"}));
  }
  {
    Builder b("matmul_vector", 11, {3, 7}, ++seed);
    b.output(b.op("MatMul", {"input", b.weight({7}, 0.5f)}));
    b.output(b.op("MatMul", {b.weight({3}, 0.5f), "input"}));
    out.push_back(b.finish(2));
  }

  // ---- Data movement ----
  {
    Builder b("reshape_from_nhwc", 13, {1, 3, 7, 6}, ++seed);
    const auto c = b.conv("input", 3, 7, 3, 1);
    b.output(b.op("Reshape", {c, b.ints({1, 7, 42})}));
    b.output(b.op("Flatten", {c}, {attr_int("axis", 2)}));
    b.output(b.op("Reshape", {b.op("Relu", {c}), b.ints({1, 14, 3, 7})}));  // NHWC -> NHWC of another shape
    out.push_back(b.finish(-1, {"layout copy"}));
  }
  {
    Builder b("transpose", 13, {1, 5, 6, 7}, ++seed);
    const auto t1 = b.op("Transpose", {"input"}, {attr_ints("perm", {0, 2, 3, 1})});
    const auto r = b.op("Reshape", {t1, b.ints({1, 42, 5})});
    b.output(b.op("Relu", {b.op("Transpose", {r}, {attr_ints("perm", {0, 2, 1})})}));
    b.output(b.op("Transpose", {"input"}));  // default: reversed axes
    out.push_back(b.finish(-1, {"transpose"}));
  }
  {
    Builder b("slice_steps", 13, {1, 7, 9, 11}, ++seed);
    const auto c = b.conv("input", 7, 7, 1);
    b.output(b.op("Slice", {c, b.ints({1, 0, 10}), b.ints({6, 9, 0}), b.ints({1, 2, 3}), b.ints({2, 3, -2})}));
    b.output(b.op("Slice", {c, b.ints({-4}), b.ints({INT64_MAX}), b.ints({-1})}));
    out.push_back(b.finish(3, {"slice"}));
  }
  {
    Builder b("slice_rank2", 11, {2, 13}, ++seed);
    b.output(b.op("Slice", {"input", b.ints({1}), b.ints({-1}), b.ints({1})}));
    b.output(b.op("Slice", {"input", b.ints({1, 12}), b.ints({2, -100}), b.ints({0, 1}), b.ints({1, -3})}));
    out.push_back(b.finish(2, {"slice"}));
  }
  {
    Builder b("split", 13, {1, 13, 5, 6}, ++seed);
    const auto parts = b.ops("Split", {b.conv("input", 13, 13, 1), b.ints({3, 4, 6})}, 3, {attr_int("axis", 1)});
    b.output(b.op("Relu", {parts[0]}));
    b.output(parts[1]);
    b.output(b.op("Sigmoid", {parts[2]}));
    out.push_back(b.finish(4, {"split"}));
  }
  {
    Builder b("split_opset11", 11, {1, 5, 6, 8}, ++seed);
    for (const auto& p : b.ops("Split", {"input"}, 2, {attr_int("axis", 3)})) b.output(p);
    for (const auto& p : b.ops("Split", {"input"}, 2, {attr_int("axis", 2), attr_ints("split", {1, 5})})) b.output(p);
    out.push_back(b.finish(2, {"split"}));
  }
  {
    Builder b("concat_channels", 13, {1, 5, 7, 6}, ++seed);
    const auto c1 = b.conv("input", 5, 3, 3, 1);
    const auto c2 = b.conv("input", 5, 7, 1);
    b.output(b.op("Concat", {c1, "input", c2}, {attr_int("axis", 1)}));
    b.output(b.op("Concat", {c1, c1}, {attr_int("axis", -2)}));
    out.push_back(b.finish(4, {"concat"}));
  }
  {
    Builder b("concat_constant", 11, {2, 5}, ++seed);
    b.output(b.op("Concat", {"input", b.weight({2, 3}, 1.f)}, {attr_int("axis", 1)}));
    b.output(b.op("Concat", {b.weight({1, 5}, 1.f), "input"}, {attr_int("axis", 0)}));
    out.push_back(b.finish(2, {"concat"}));
  }
  {
    Builder b("pad_reflect", 11, {1, 5, 7, 6}, ++seed);
    b.output(b.op("Pad", {"input", b.ints({0, 0, 2, 1, 0, 0, 1, 2})}, {attr_string("mode", "reflect")}));
    out.push_back(b.finish(1, {"pad reflect"}));
  }
  {
    Builder b("pad_edge", 13, {1, 5, 7, 6}, ++seed);
    b.output(b.op("Pad", {b.conv("input", 5, 3, 1), b.ints({0, 1, 1, 0, 0, 2, 0, 3})}, {attr_string("mode", "edge")}));
    out.push_back(b.finish(2, {"pad edge"}));
  }
  {
    Builder b("pad_constant", 17, {1, 5, 7, 6}, ++seed);
    b.output(b.op("Pad", {"input", b.ints({0, 1, 2, 2, 0, 0, 1, -1}), b.scalar(0.5f)}));
    b.output(b.op("Pad", {b.op("Flatten", {"input"}), b.ints({1, 2, 0, 3})}));
    out.push_back(b.finish(-1, {"pad constant"}));
  }
  {
    Builder b("gather_runtime", 13, {1, 7, 5, 6}, ++seed);
    const auto c = b.conv("input", 7, 7, 1);
    b.output(b.op("Gather", {c, b.ints({2, 0, 6, 2})}, {attr_int("axis", 1)}));
    b.output(b.op("Gather", {c, b.ints({}, {-1})}, {attr_int("axis", 3)}));
    b.output(b.op("Gather", {b.op("Flatten", {c}), b.ints({2, 2}, {0, 3, 1, 0})}, {attr_int("axis", 1)}));
    out.push_back(b.finish(-1, {"gather"}));
  }
  {
    Builder b("cast_identity", 13, {2, 5}, ++seed);
    b.output(b.op("Relu", {b.op("Cast", {"input"}, {attr_int("to", 1)})}));
    out.push_back(b.finish(1));
  }

  // ---- Reductions, normalisation, softmax ----
  {
    Builder b("reducemean_hw", 13, {1, 3, 9, 7}, ++seed);
    const auto c = b.op("Relu", {b.conv("input", 3, 7, 3, 1)});
    const auto m = b.op("ReduceMean", {c}, {attr_ints("axes", {2, 3}), attr_int("keepdims", 0)});
    b.output(b.op("Gemm", {m, b.weight({5, 7}, 0.5f)}, {attr_int("transB", 1)}));
    b.output(b.op("ReduceMean", {c}, {attr_ints("axes", {-1, -2})}));
    out.push_back(b.finish(4, {"mean over h, w"}));
  }
  {
    Builder b("reducemean_axes", 11, {2, 5, 4, 3}, ++seed);
    b.output(b.op("ReduceMean", {"input"}, {attr_ints("axes", {1})}));
    b.output(b.op("ReduceMean", {"input"}, {attr_ints("axes", {-1}), attr_int("keepdims", 0)}));
    b.output(b.op("ReduceMean", {"input"}, {attr_int("keepdims", 0)}));
    b.output(b.op("GlobalAveragePool", {b.op("Reshape", {"input", b.ints({2, 5, 12})})}));
    out.push_back(b.finish(-1, {"mean"}));
  }
  {
    Builder b("softmax", 13, {2, 13}, ++seed);
    b.output(b.op("Softmax", {"input"}));
    b.output(b.op("Softmax", {"input"}, {attr_int("axis", 0)}));
    out.push_back(b.finish(2, {"softmax"}));
  }
  {
    Builder b("softmax_nhwc", 13, {1, 3, 5, 4}, ++seed);
    const auto c = b.conv("input", 3, 7, 3, 1);
    b.output(b.op("Softmax", {c}, {attr_int("axis", 1)}));
    b.output(b.op("Softmax", {c}, {attr_int("axis", 2)}));
    out.push_back(b.finish(3, {"softmax"}));
  }
  {
    Builder b("softmax_opset11", 11, {1, 5, 3, 4}, ++seed);
    b.output(b.op("Softmax", {"input"}));  // axis 1: over C, H, W together
    b.output(b.op("Softmax", {"input"}, {attr_int("axis", 2)}));
    b.output(b.op("Softmax", {"input"}, {attr_int("axis", -1)}));
    out.push_back(b.finish(3, {"softmax"}));
  }
  {
    Builder b("batchnorm_standalone", 14, {1, 5, 7, 6}, ++seed);
    b.output(b.op("Relu", {b.bn("input", 5)}));
    out.push_back(b.finish(1, {"batchnorm +relu"}));
  }
  {
    Builder b("batchnorm_rank2_rank3", 11, {3, 13}, ++seed);
    b.output(b.bn("input", 13));
    b.output(b.bn(b.op("Reshape", {"input", b.ints({3, 13, 1})}), 13));
    out.push_back(b.finish(2, {"batchnorm"}));
  }

  // ---- Exporter shape arithmetic and the reshape family ----
  {
    Builder b("shape_gather_concat_reshape", 13, {1, 3, 8, 7}, ++seed);
    const auto c = b.op("Relu", {b.conv("input", 3, 5, 3, 1, 2)});
    const auto s = b.op("Shape", {c});
    const auto n = b.op("Gather", {s, b.ints({}, {0})}, {attr_int("axis", 0)});
    const auto n1 = b.with_axes("Unsqueeze", n, {0});
    const auto rest = b.op("Constant", {}, {attr_ints("value_ints", {-1})});
    const auto shape = b.op("Concat", {n1, rest}, {attr_int("axis", 0)});
    const auto f = b.op("Reshape", {c, shape});
    b.output(b.op("Gemm", {f, b.weight({7, 5 * 4 * 4}, 0.2f)}, {attr_int("transB", 1)}));
    out.push_back(b.finish(3, {"layout copy", "gemm"}));
  }
  {
    Builder b("squeeze_unsqueeze", 11, {1, 5, 6, 7}, ++seed);
    const auto g = b.op("GlobalAveragePool", {"input"});
    const auto sq = b.with_axes("Squeeze", g, {2, 3});
    b.output(b.op("Relu", {b.with_axes("Unsqueeze", sq, {1})}));
    b.output(b.op("Sigmoid", {b.with_axes("Unsqueeze", "input", {0})}));  // rank 5
    b.output(b.op("Squeeze", {g}));
    out.push_back(b.finish(-1));
  }
  {
    Builder b("squeeze_unsqueeze_13", 13, {1, 5, 1, 7}, ++seed);
    const auto sq = b.with_axes("Squeeze", "input", {2});
    b.output(b.op("Relu", {b.with_axes("Unsqueeze", sq, {-1, 1})}));
    out.push_back(b.finish(-1));
  }
  {
    Builder b("identity_dropout", 13, {1, 5, 6, 7}, ++seed);
    const auto d = b.op("Dropout", {b.op("Identity", {"input"}), b.scalar(0.3f)});
    b.output(b.op("Dropout", {b.conv(d, 5, 3, 3, 1)}));
    out.push_back(b.finish(1));
  }

  // ---- Elementwise ----
  {
    // Input normalisation and a runtime broadcast against a pooled value.
    Builder b("sub_div_broadcast", 13, {1, 3, 9, 8}, ++seed);
    const auto norm = b.op("Div", {b.op("Sub", {"input", b.weight({3, 1, 1}, 0.5f)}),
                                   b.floats({3, 1, 1}, {0.229f, 0.224f, 0.225f})});
    const auto c = b.conv(norm, 3, 5, 3, 1);
    b.output(b.op("Sub", {c, b.op("GlobalAveragePool", {c})}));
    b.output(b.op("Div", {b.op("Sub", {b.scalar(1.f), c}), b.scalar(4.f)}));
    b.output(b.op("Mul", {b.op("Add", {c, b.weight({1, 5, 1, 8}, 1.f)}), b.weight({9, 1}, 1.f)}));
    out.push_back(b.finish(-1, {"Sub", "Div"}));
  }
  {
    Builder b("sigmoid", 17, {1, 5, 7, 6}, ++seed);
    b.output(b.op("Sigmoid", {"input"}));
    b.output(b.op("Sigmoid", {b.op("Mul", {"input", b.scalar(4.f)})}));
    out.push_back(b.finish(2, {"sigmoid", "Mul +sigmoid"}));
  }
  {
    Builder b("activations", 13, {2, 7, 5}, ++seed);
    b.output(b.op("Sigmoid", {"input"}));
    b.output(b.op("HardSigmoid", {"input"}));
    b.output(b.op("Clip", {"input", b.scalar(-0.25f)}));
    b.output(b.op("Relu", {"input"}));
    out.push_back(b.finish(4, {"sigmoid", "hardsigmoid", "clip", "relu"}));
  }
  {
    Builder b("hardswish", 14, {1, 5, 6, 7}, ++seed);
    b.output(b.op("HardSwish", {"input"}));
    b.output(b.op("HardSwish", {b.conv("input", 5, 7, 3, 1)}));
    out.push_back(b.finish(2, {"hardswish", "conv 3x3"}));
  }
  {
    // Activations folded into binary steps: x * sigmoid(x) after an Add, Relu after a Sub.
    Builder b("binary_silu_relu", 17, {1, 5, 6, 7}, ++seed);
    const auto a = b.op("Add", {"input", b.weight({5, 1, 1}, 0.5f)});
    const auto m = b.op("Mul", {a, b.op("Sigmoid", {a})});
    const auto r = b.op("Relu", {b.op("Sub", {m, b.weight({7}, 0.5f)})});
    b.output(b.op("Mul", {b.op("Sigmoid", {"input"}), r}));
    out.push_back(b.finish(4, {"Add +silu", "Sub +relu"}));
  }

  // ---- Blocks of common classifiers ----
  {
    // EfficientNet MBConv: expand, depthwise, squeeze-excitation, project, residual.
    Builder b("mbconv_se", 13, {1, 5, 9, 9}, ++seed);
    auto silu = [&](const std::string& x) { return b.op("Mul", {x, b.op("Sigmoid", {x})}); };
    const auto e = silu(b.bn(b.conv("input", 5, 13, 1, 0, 1, 1), 13));
    const auto d = silu(b.bn(b.conv(e, 13, 13, 3, 1, 1, 13), 13));
    const auto se = b.op("Sigmoid", {b.conv(silu(b.conv(b.op("GlobalAveragePool", {d}), 13, 3, 1)), 3, 13, 1)});
    const auto p = b.bn(b.conv(b.op("Mul", {d, se}), 13, 5, 1), 5);
    b.output(b.op("Add", {p, "input"}));
    out.push_back(b.finish(7, {"+silu", "+sigmoid", "+residual"}));
  }
  {
    // ShuffleNetV2 unit: split, branch, concat, channel shuffle through rank-5 values.
    Builder b("shufflenet_unit", 13, {1, 14, 5, 5}, ++seed);
    const auto halves = b.ops("Split", {"input", b.ints({7, 7})}, 2, {attr_int("axis", 1)});
    const auto br = b.op("Relu", {b.bn(b.conv(b.bn(b.conv(halves[1], 7, 7, 3, 1, 1, 7), 7), 7, 7, 1), 7)});
    const auto cat = b.op("Concat", {halves[0], br}, {attr_int("axis", 1)});
    const auto r5 = b.op("Reshape", {cat, b.ints({1, 2, 7, 5, 5})});
    const auto t = b.op("Transpose", {r5}, {attr_ints("perm", {0, 2, 1, 3, 4})});
    b.output(b.op("Reshape", {t, b.ints({1, 14, 5, 5})}));
    out.push_back(b.finish(-1, {"split", "concat", "transpose"}));
  }
  {
    // SqueezeNet fire module with a ceil-mode pool.
    Builder b("squeezenet_fire", 11, {1, 7, 13, 13}, ++seed);
    const auto s = b.op("Relu", {b.conv("input", 7, 3, 1)});
    const auto e1 = b.op("Relu", {b.conv(s, 3, 5, 1)});
    const auto e3 = b.op("Relu", {b.conv(s, 3, 7, 3, 1)});
    const auto cat = b.op("Concat", {e1, e3}, {attr_int("axis", 1)});
    b.output(b.op("MaxPool", {cat}, {attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2}),
                                     attr_int("ceil_mode", 1)}));
    out.push_back(b.finish(5, {"concat", "MaxPool"}));
  }
  return out;
}

}  // namespace iciia::test_models
