// Graph building and shape inference: the folding of exporter shape
// arithmetic, the errors for what the engine cannot run, and the benchmark
// backbones inferred end to end.
#include <gtest/gtest.h>

#include "engine/graph.h"
#include "engine/graph_stats.h"
#include "onnx/onnx_writer.h"
#include "test_support.h"
#include "util/error.h"

namespace iciia::engine {
namespace {

namespace ob = onnx_build;

Graph build(const OnnxGraph& og, int64_t opset = 13) {
  return build_graph(parse_onnx(write_onnx(ob::model(og, opset))));
}

// x [2, 8, 4, 4] -> Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape(x): [2, 128]
OnnxGraph flatten_by_shape_arithmetic() {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", OnnxDataType::kFloat, {-1, 8, 4, 4}));
  const std::vector<int64_t> zero = {0}, minus_one = {-1};
  g.initializers.push_back(ob::int64_tensor("idx0", {}, std::span<const int64_t>(zero.data(), 1)));
  g.initializers.push_back(ob::int64_tensor("axes0", {1}, zero));
  g.initializers.push_back(ob::int64_tensor("rest", {1}, minus_one));
  g.nodes.push_back(ob::node("Shape", {"x"}, {"s"}, {}, "shape"));
  g.nodes.push_back(ob::node("Gather", {"s", "idx0"}, {"n"}, {ob::attr_int("axis", 0)}, "gather"));
  g.nodes.push_back(ob::node("Unsqueeze", {"n", "axes0"}, {"n1"}, {}, "unsqueeze"));
  g.nodes.push_back(ob::node("Concat", {"n1", "rest"}, {"shape2"}, {ob::attr_int("axis", 0)}, "concat"));
  g.nodes.push_back(ob::node("Reshape", {"x", "shape2"}, {"y"}, {}, "reshape"));
  g.nodes.push_back(ob::node("Relu", {"y"}, {"z"}, {}, "relu"));
  g.outputs.push_back(ob::value_info("z", OnnxDataType::kFloat, {-1, 128}));
  return g;
}

TEST(EngineGraph, FoldsShapeArithmeticOnceTheInputShapeIsKnown) {
  Graph g = build(flatten_by_shape_arithmetic());
  infer(g, {{{"x", {2, 8, 4, 4}}}});
  const Value& shape2 = g.values[g.find("shape2")];
  ASSERT_TRUE(shape2.constant);
  EXPECT_EQ(shape2.i64, (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(g.values[g.find("z")].dims, (std::vector<int64_t>{2, 128}));
  const GraphStats s = graph_stats(g);
  EXPECT_EQ(s.runtime_nodes, 2);  // Reshape and Relu remain
  EXPECT_EQ(s.op_histogram.count("Shape"), 0u);
  // Re-shaping the same graph for another batch size re-derives everything.
  infer(g, {{{"x", {5, 8, 4, 4}}}});
  EXPECT_EQ(g.values[g.find("shape2")].i64, (std::vector<int64_t>{5, -1}));
  EXPECT_EQ(g.values[g.find("z")].dims, (std::vector<int64_t>{5, 128}));
}

TEST(EngineGraph, OpenInputShapeNeedsDims) {
  Graph g = build(flatten_by_shape_arithmetic());
  try {
    infer(g);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("input 'x' has open dimensions"), std::string::npos) << e.what();
  }
  EXPECT_THROW(infer(g, {{{"x", {2, 9, 4, 4}}}}), Error);  // contradicts the fixed 8
  EXPECT_THROW(infer(g, {{{"x", {2, 8, 4}}}}), Error);     // wrong rank
}

TEST(EngineGraph, UnsupportedOpNamesOpNodeAndOpset) {
  OnnxGraph og;
  og.inputs.push_back(ob::value_info("x", OnnxDataType::kFloat, {1, 4}));
  og.nodes.push_back(ob::node("Relu", {"x"}, {"r"}, {}, "first"));
  og.nodes.push_back(ob::node("LSTM", {"r"}, {"y"}, {}, "rnn_7"));
  og.outputs.push_back(ob::value_info("y", OnnxDataType::kFloat, {1, 4}));
  try {
    build(og, 15);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    const std::string m = e.what();
    EXPECT_NE(m.find("LSTM"), std::string::npos) << m;
    EXPECT_NE(m.find("'rnn_7'"), std::string::npos) << m;
    EXPECT_NE(m.find("opset 15"), std::string::npos) << m;
  }
}

TEST(EngineGraph, OpsetOutsideTheSupportedRange) {
  OnnxGraph og;
  og.inputs.push_back(ob::value_info("x", OnnxDataType::kFloat, {1, 4}));
  og.nodes.push_back(ob::node("Relu", {"x"}, {"y"}));
  og.outputs.push_back(ob::value_info("y", OnnxDataType::kFloat, {1, 4}));
  for (int64_t opset : {9, 18}) {
    try {
      build(og, opset);
      ADD_FAILURE() << "opset " << opset << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("opset " + std::to_string(opset)), std::string::npos) << e.what();
    }
  }
}

TEST(EngineGraph, ShapeErrorsNameTheNode) {
  OnnxGraph og;
  og.inputs.push_back(ob::value_info("x", OnnxDataType::kFloat, {1, 3, 8, 8}));
  std::vector<float> w(4 * 2 * 3 * 3, 0.f);
  og.initializers.push_back(ob::float_tensor("w", {4, 2, 3, 3}, w));
  og.nodes.push_back(ob::node("Conv", {"x", "w"}, {"y"}, {}, "stem"));
  og.outputs.push_back(ob::value_info("y", OnnxDataType::kFloat, {1, 4, 6, 6}));
  Graph g = build(og);
  try {
    infer(g);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'stem' (Conv): weights"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expect 2 input channels"), std::string::npos) << e.what();
  }
}

struct BackboneCase {
  const char* file;
  int64_t min_macs, max_macs;  // torchvision's published multiply-adds, +-10%
};

TEST(EngineGraph, InfersTheBenchmarkBackbones) {
  auto shared = test::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not found: benchmark backbones not checked";
  for (const BackboneCase& c : {BackboneCase{"mobilenet_v3_small.onnx", 50'000'000, 65'000'000},
                                BackboneCase{"mobilenet_v3_large.onnx", 200'000'000, 240'000'000},
                                BackboneCase{"mobilenet_v2.onnx", 280'000'000, 330'000'000}}) {
    SCOPED_TRACE(c.file);
    const auto bytes = test::read_bytes(*shared + "/models/" + c.file);
    Graph g = build_graph(parse_onnx(bytes));
    infer(g, {{{"input", {1, 3, 224, 224}}}});
    ASSERT_EQ(g.outputs.size(), 1u);
    EXPECT_EQ(g.values[g.outputs[0]].dims, (std::vector<int64_t>{1, 1000}));
    const GraphStats s = graph_stats(g);
    EXPECT_GE(s.macs, c.min_macs);
    EXPECT_LE(s.macs, c.max_macs);
    std::string ops;
    for (const auto& [op, count] : s.op_histogram) ops += " " + op + "x" + std::to_string(count);
    std::printf("[ backbone ] %s: %.1f M MACs, %d runtime nodes:%s\n", c.file, s.macs / 1e6, s.runtime_nodes,
                ops.c_str());
  }
}

}  // namespace
}  // namespace iciia::engine
