// find_classifier_head: the features of a model that does not describe
// itself are the input of its final Gemm / MatMul, whatever an exporter
// appends after it.
#include <gtest/gtest.h>

#include "onnx/classifier_head.h"
#include "onnx/onnx_writer.h"
#include "test_support.h"

namespace iciia {
namespace {

using namespace onnx_build;

const float kW[6] = {1, 2, 3, 4, 5, 6};

// input [1, 2] -> Relu "h" -> ... (the tail each test adds)
OnnxGraph stem() {
  OnnxGraph g;
  g.inputs.push_back(value_info("image", OnnxDataType::kFloat, {1, 2}));
  g.initializers = {float_tensor("w", {3, 2}, kW), float_tensor("wt", {2, 3}, kW), float_tensor("b", {3}, std::span(kW, 3))};
  g.nodes.push_back(node("Relu", {"image"}, {"h"}));
  return g;
}

TEST(ClassifierHead, GemmAtTheEnd) {
  OnnxGraph g = stem();
  g.nodes.push_back(node("Gemm", {"h", "w", "b"}, {"out"}, {attr_int("transB", 1)}));
  g.outputs = {value_info("out", OnnxDataType::kFloat, {1, 3})};
  const ClassifierHead h = find_classifier_head(g, "m.onnx");
  EXPECT_EQ(h.input, "image");
  EXPECT_EQ(h.features, "h");
  EXPECT_EQ(h.logits, "out");
}

TEST(ClassifierHead, ThroughSoftmaxAndFlattenToTheLinearLayersOutput) {
  OnnxGraph g = stem();
  g.nodes.push_back(node("Gemm", {"h", "w", "b"}, {"z"}, {attr_int("transB", 1)}));
  g.nodes.push_back(node("Flatten", {"z"}, {"zf"}));
  g.nodes.push_back(node("Softmax", {"zf"}, {"probs"}));
  g.outputs = {value_info("probs", OnnxDataType::kFloat, {1, 3})};
  const ClassifierHead h = find_classifier_head(g, "m.onnx");
  EXPECT_EQ(h.features, "h");
  EXPECT_EQ(h.logits, "z");  // before the Softmax: the recognizer applies its own
}

TEST(ClassifierHead, MatMulWithBiasAddEitherWayRoundAndConstantNodeWeights) {
  for (bool bias_first : {false, true}) {
    OnnxGraph g = stem();
    g.initializers.clear();  // weights from Constant nodes, as some exporters write them
    g.nodes.push_back(node("Constant", {}, {"wc"}, {attr_tensor("value", float_tensor("", {2, 3}, kW))}));
    g.nodes.push_back(node("Constant", {}, {"bc"}, {attr_tensor("value", float_tensor("", {3}, std::span(kW, 3)))}));
    g.nodes.push_back(node("MatMul", {"h", "wc"}, {"mm"}));
    g.nodes.push_back(node("Add", bias_first ? std::vector<std::string>{"bc", "mm"} : std::vector<std::string>{"mm", "bc"},
                           {"logits"}));
    g.outputs = {value_info("logits", OnnxDataType::kFloat, {1, 3})};
    const ClassifierHead h = find_classifier_head(g, "m.onnx");
    EXPECT_EQ(h.features, "h") << bias_first;
    EXPECT_EQ(h.logits, "logits") << bias_first;  // the bias belongs to the classifier
  }
}

TEST(ClassifierHead, SkipsOutputsThatFeedOtherNodes) {
  // Two stacked linear layers, both outputs exposed (as a bundle's backbone
  // exposes its features): the head is the last layer, not the one whose
  // output is consumed.
  OnnxGraph g = stem();
  g.initializers.push_back(float_tensor("w2", {3, 3}, std::vector<float>(9, 0.5f)));
  g.nodes.push_back(node("Gemm", {"h", "w", "b"}, {"feat"}, {attr_int("transB", 1)}));
  g.nodes.push_back(node("Gemm", {"feat", "w2", "b"}, {"out"}, {attr_int("transB", 1)}));
  g.outputs = {value_info("feat", OnnxDataType::kFloat, {1, 3}), value_info("out", OnnxDataType::kFloat, {1, 3})};
  const ClassifierHead h = find_classifier_head(g, "m.onnx");
  EXPECT_EQ(h.features, "feat");
  EXPECT_EQ(h.logits, "out");
}

TEST(ClassifierHead, RefusesGraphsWithoutALinearLayerAtTheEnd) {
  OnnxGraph relu_end = stem();
  relu_end.nodes.push_back(node("Gemm", {"h", "w", "b"}, {"z"}, {attr_int("transB", 1)}));
  relu_end.nodes.push_back(node("Relu", {"z"}, {"out"}));
  relu_end.outputs = {value_info("out", OnnxDataType::kFloat, {1, 3})};
  test::expect_error([&] { find_classifier_head(relu_end, "relu.onnx"); }, ErrorCode::kUnsupported,
                     {"relu.onnx", "'out'", "Gemm or MatMul", "--features"});

  // x·xᵀ is a MatMul, but of two runtime values: no classifier weights.
  OnnxGraph gram = stem();
  gram.nodes.push_back(node("Transpose", {"h"}, {"ht"}));
  gram.nodes.push_back(node("MatMul", {"h", "ht"}, {"out"}));
  gram.outputs = {value_info("out", OnnxDataType::kFloat, {1, 1})};
  test::expect_error([&] { find_classifier_head(gram, "gram.onnx"); }, ErrorCode::kUnsupported, {"gram.onnx"});

  OnnxGraph no_input = stem();
  no_input.inputs.clear();
  test::expect_error([&] { find_classifier_head(no_input, "x.onnx"); }, ErrorCode::kFormat, {"x.onnx", "no input"});
}

}  // namespace
}  // namespace iciia
