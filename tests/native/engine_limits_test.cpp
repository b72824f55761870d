// The engine against hostile and malformed models: every problem is a typed
// iciia::Error with a message that names the value, node or bound concerned,
// and every size a model asks for is checked against EngineOptions before
// anything that large is allocated.
#include <gtest/gtest.h>
#include <protozero/pbf_writer.hpp>

#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "onnx/onnx_writer.h"
#include "test_support.h"
#include "util/error.h"

namespace iciia::engine {
namespace {

namespace ob = onnx_build;
using DT = OnnxDataType;

using test::expect_error;

std::vector<uint8_t> bytes_of(const OnnxGraph& g, int64_t opset = 13, bool check = true) {
  OnnxWriteOptions w;
  w.check = check;
  return write_onnx(ob::model(g, opset), w);
}

void expect_load_error(const OnnxGraph& g, ErrorCode code, std::initializer_list<std::string> parts,
                       const EngineOptions& options = {}, int64_t opset = 13) {
  const auto bytes = bytes_of(g, opset);
  expect_error([&] { Engine::load(bytes, options); }, code, parts);
}

OnnxTensor ints(std::string name, std::vector<int64_t> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  return ob::int64_tensor(std::move(name), {n}, values);
}

OnnxTensor floats(std::string name, std::vector<int64_t> dims, float value = 0.5f) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return ob::float_tensor(std::move(name), std::move(dims), std::vector<float>(static_cast<size_t>(n), value));
}

// x [1, 3, 8, 8] -> Conv 3x3 (4 channels) -> Relu -> GlobalAveragePool -> Flatten -> Gemm (5 classes).
OnnxGraph small_classifier() {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {-1, 3, 8, 8}));
  g.initializers.push_back(floats("conv.w", {4, 3, 3, 3}, 0.1f));
  g.initializers.push_back(floats("conv.b", {4}, 0.f));
  g.initializers.push_back(floats("fc.w", {5, 4}, 0.2f));
  g.initializers.push_back(floats("fc.b", {5}, 0.f));
  g.nodes.push_back(ob::node("Conv", {"x", "conv.w", "conv.b"}, {"c"}, {ob::attr_ints("pads", {1, 1, 1, 1})}, "conv"));
  g.nodes.push_back(ob::node("Relu", {"c"}, {"r"}, {}, "relu"));
  g.nodes.push_back(ob::node("GlobalAveragePool", {"r"}, {"p"}, {}, "gap"));
  g.nodes.push_back(ob::node("Flatten", {"p"}, {"f"}, {}, "flatten"));
  g.nodes.push_back(ob::node("Gemm", {"f", "fc.w", "fc.b"}, {"logits"}, {ob::attr_int("transB", 1)}, "fc"));
  g.outputs.push_back(ob::value_info("logits", DT::kFloat, {-1, 5}));
  return g;
}

// ---- what the engine runs, under limits that suffice ----

TEST(EngineLimits, SmallModelRunsUnderTightLimits) {
  EngineOptions o;
  o.max_value_elements = 1024;
  o.max_input_elements = 192;
  o.max_input_dim = 8;
  o.max_steps = 5;
  o.max_run_ops = 20'000;
  o.max_arena_bytes = 4096;
  o.tensors = {"f"};
  Engine e = Engine::load(bytes_of(small_classifier()), o);
  EXPECT_LE(e.arena_bytes(), o.max_arena_bytes);
  e.run(std::vector<float>(192, 1.f));
  EXPECT_EQ(e.read("logits").size(), 5u);
  EXPECT_EQ(e.read("f").size(), 4u);
}

TEST(EngineLimits, OptionsOutOfRange) {
  const auto bytes = bytes_of(small_classifier());
  EngineOptions o;
  o.max_value_elements = 0;
  expect_error([&] { Engine::load(bytes, o); }, ErrorCode::kInvalidArgument, {"max_value_elements", "0"});
  o = {};
  o.max_value_elements = int64_t{1} << 31;  // kernels index with int
  expect_error([&] { Engine::load(bytes, o); }, ErrorCode::kInvalidArgument, {"max_value_elements"});
  o = {};
  o.max_steps = -1;
  expect_error([&] { Engine::load(bytes, o); }, ErrorCode::kInvalidArgument, {"max_steps"});
  o = {};
  o.max_arena_bytes = 0;
  expect_error([&] { Engine::load(bytes, o); }, ErrorCode::kInvalidArgument, {"max_arena_bytes"});
}

// ---- malformed graphs ----

TEST(EngineLimits, GraphCycle) {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  g.nodes.push_back(ob::node("Add", {"x", "b"}, {"a"}, {}, "add"));
  g.nodes.push_back(ob::node("Relu", {"a"}, {"b"}, {}, "relu"));
  g.outputs.push_back(ob::value_info("a", DT::kFloat, {1, 4}));
  expect_load_error(g, ErrorCode::kFormat, {"cycle", "'add'", "'relu'"});
}

TEST(EngineLimits, DanglingInput) {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  g.nodes.push_back(ob::node("Add", {"x", "nowhere"}, {"y"}, {}, "add"));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 4}));
  expect_load_error(g, ErrorCode::kFormat, {"'add'", "'nowhere'", "dangling"});
}

TEST(EngineLimits, DuplicateNames) {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  g.nodes.push_back(ob::node("Relu", {"x"}, {"y"}, {}, "first"));
  g.nodes.push_back(ob::node("Sigmoid", {"x"}, {"y"}, {}, "second"));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 4}));
  expect_load_error(g, ErrorCode::kFormat, {"'second'", "'y'", "already", "'first'"});

  OnnxGraph h;  // a node output named like the graph input
  h.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  h.nodes.push_back(ob::node("Relu", {"x"}, {"x"}, {}, "self"));
  h.outputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  expect_load_error(h, ErrorCode::kFormat, {"'self'", "'x'", "graph input"});
}

// ---- malformed tensors ----

// TensorProto bytes of a FLOAT [4] initializer whose data lives in another file.
std::string external_tensor() {
  std::string tensor;
  protozero::pbf_writer t(tensor);
  t.add_int64(1, 4);   // dims
  t.add_int32(2, 1);   // data_type FLOAT
  t.add_string(8, "ext.w");
  std::string entry;
  {
    protozero::pbf_writer e(entry);
    e.add_string(1, "location");
    e.add_string(2, "weights.bin");
  }
  t.add_message(13, entry);  // external_data
  t.add_int32(14, 1);        // data_location EXTERNAL
  return tensor;
}

TEST(EngineLimits, ExternalData) {
  // The project's writer never writes external data: splice the initializer
  // into the GraphProto of a model it wrote (the graph is the model's last field).
  std::string graph;
  {
    protozero::pbf_writer w(graph);
    w.add_message(5, external_tensor());  // GraphProto.initializer
  }
  std::string model;
  {
    protozero::pbf_writer m(model);
    m.add_int64(1, 8);  // ir_version
    std::string opset;
    {
      protozero::pbf_writer o(opset);
      o.add_int64(2, 13);
    }
    m.add_message(8, opset);
    m.add_message(7, graph);
  }
  const std::vector<uint8_t> bytes(model.begin(), model.end());
  expect_error([&] { Engine::load(bytes); }, ErrorCode::kUnsupported, {"'ext.w'", "external"});
}

TEST(EngineLimits, RawDataLengthMismatch) {
  OnnxGraph g = small_classifier();
  g.initializers[0].raw.resize(g.initializers[0].raw.size() - 4);  // one float short
  const auto bytes = bytes_of(g, 13, /*check=*/false);
  expect_error([&] { Engine::load(bytes); }, ErrorCode::kFormat, {"'conv.w'"});
}

TEST(EngineLimits, NegativeAndOverflowingInitializerDims) {
  OnnxGraph g = small_classifier();
  g.initializers[1].dims = {-4};
  auto bytes = bytes_of(g, 13, false);
  expect_error([&] { Engine::load(bytes); }, ErrorCode::kFormat, {"'conv.b'", "negative"});

  g = small_classifier();
  g.initializers[1].dims = {int64_t{1} << 32, int64_t{1} << 32};
  bytes = bytes_of(g, 13, false);
  expect_error([&] { Engine::load(bytes); }, ErrorCode::kFormat, {"'conv.b'", "overflow"});

  // Empty, so the file holds it, but its other dims are absurd: the value limit.
  g = small_classifier();
  g.initializers.push_back(ob::float_tensor("empty", {0, int64_t{1} << 40}, std::vector<float>{}));
  g.nodes.push_back(ob::node("Identity", {"empty"}, {"unused"}, {}, "id"));
  bytes = bytes_of(g, 13, false);
  expect_error([&] { Engine::load(bytes); }, ErrorCode::kLimit, {"initializer 'empty'", "max_value_elements"});
}

// ---- shapes a small file can ask for ----

TEST(EngineLimits, ReshapeTargetOverTheLimit) {
  // An empty input reshaped (allowzero) to [0, 1e9, 1e9]: no elements, but
  // dims no kernel can index.
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {0, 4}));
  g.initializers.push_back(ints("shape", {0, 1'000'000'000, 1'000'000'000}));
  g.nodes.push_back(ob::node("Reshape", {"x", "shape"}, {"y"}, {ob::attr_int("allowzero", 1)}, "reshape"));
  g.nodes.push_back(ob::node("Relu", {"y"}, {"z"}, {}, "relu"));
  g.outputs.push_back(ob::value_info("z", DT::kFloat, {0, 1'000'000'000, 1'000'000'000}));
  expect_load_error(g, ErrorCode::kLimit, {"'reshape' (Reshape)", "'y'", "max_value_elements"}, {}, 14);

  // A row turned into a column, then broadcast against the row: [4096, 4096],
  // a valid shape 64 times the limit, refused before anything allocates it.
  OnnxGraph h;
  h.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4096}));
  h.initializers.push_back(ints("col", {4096, 1}));
  h.nodes.push_back(ob::node("Reshape", {"x", "col"}, {"xc"}, {}, "to_column"));
  h.nodes.push_back(ob::node("Add", {"xc", "x"}, {"outer"}, {}, "outer_sum"));
  h.outputs.push_back(ob::value_info("outer", DT::kFloat, {4096, 4096}));
  EngineOptions o;
  o.max_value_elements = 1 << 18;
  expect_load_error(h, ErrorCode::kLimit,
                    {"'outer_sum' (Add)", "'outer' f32[4096, 4096]", "16777216 elements", "262144",
                     "max_value_elements"},
                    o);
}

TEST(EngineLimits, ReshapeTargetThatOverflows) {
  // Entries whose product does not fit in 64 bits.
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  g.initializers.push_back(ints("shape", {int64_t{1} << 32, int64_t{1} << 32, 4}));
  g.nodes.push_back(ob::node("Reshape", {"x", "shape"}, {"y"}, {}, "reshape"));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 4}));
  expect_load_error(g, ErrorCode::kFormat, {"'reshape' (Reshape)", "64 bits"});
  // Entries that multiply to 10^18: representable, so "cannot reshape".
  g.initializers[0] = ints("shape", {1'000'000'000, 1'000'000'000});
  expect_load_error(g, ErrorCode::kFormat, {"'reshape' (Reshape)", "cannot reshape"});
}

TEST(EngineLimits, PadWithAbsurdPads) {
  // Pads the op accepts (each <= 2^20), but the result has 3 * (2^21 + 8)^2 elements.
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 3, 8, 8}));
  const int64_t p = int64_t{1} << 20;
  g.initializers.push_back(ints("pads", {0, 0, p, p, 0, 0, p, p}));
  g.nodes.push_back(ob::node("Pad", {"x", "pads"}, {"y"}, {}, "pad"));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 3, 2 * p + 8, 2 * p + 8}));
  expect_load_error(g, ErrorCode::kLimit, {"'pad' (Pad)", "'y'", "max_value_elements"});

  // Pads no image needs: refused by the op, naming it.
  g.initializers[0] = ints("pads", {0, 0, int64_t{1} << 40, 0, 0, 0, 0, 0});
  expect_load_error(g, ErrorCode::kFormat, {"'pad' (Pad)", "pads"});
}

TEST(EngineLimits, InputShapeOverTheLimit) {
  OnnxGraph g = small_classifier();
  // Given by the caller: one dim too large.
  EngineOptions o;
  o.input_dims = {1, 3, 100'000, 8};
  expect_load_error(g, ErrorCode::kLimit, {"input 'x'", "dimension 2 is 100000", "max_input_dim"}, o);
  // Each dim allowed, the product not.
  o.input_dims = {4096, 3, 4096, 8};
  expect_load_error(g, ErrorCode::kLimit, {"input 'x'", "402653184 elements", "max_input_elements"}, o);
  // Declared in the file.
  g.inputs[0] = ob::value_info("x", DT::kFloat, {1, 3, 1'000'000, 1'000'000});
  expect_load_error(g, ErrorCode::kLimit, {"input 'x'", "max_input_dim"});
  // Declared with a product beyond what int64 holds.
  const int64_t big = std::numeric_limits<int32_t>::max();
  g.inputs[0] = ob::value_info("x", DT::kFloat, {big, big, big});
  EngineOptions wide;
  wide.max_input_dim = big;
  expect_load_error(g, ErrorCode::kLimit, {"input 'x'", "more than 2^63 elements", "max_input_elements"}, wide);
}

TEST(EngineLimits, TwoInputs) {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("a", DT::kFloat, {1, 4}));
  g.inputs.push_back(ob::value_info("b", DT::kFloat, {1, 4}));
  g.nodes.push_back(ob::node("Add", {"a", "b"}, {"y"}, {}, "add"));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 4}));
  expect_load_error(g, ErrorCode::kUnsupported, {"2 inputs", "single-input"});
}

TEST(EngineLimits, AttributeOfTheWrongType) {
  OnnxGraph g = small_classifier();
  g.nodes[0].attributes.push_back(ob::attr_float("group", 1.f));
  expect_load_error(g, ErrorCode::kFormat, {"'conv'", "Conv", "'group'", "FLOAT", "expected INT"});
}

TEST(EngineLimits, UnsupportedOpNamesOpNodeAndOpset) {
  OnnxGraph g = small_classifier();
  g.nodes[1] = ob::node("Celu", {"c"}, {"r"}, {}, "act_3");
  expect_load_error(g, ErrorCode::kUnsupported, {"Celu", "'act_3'", "opset 15"}, {}, 15);
}

// ---- bounds of the plan ----

TEST(EngineLimits, ArenaOverTheLimit) {
  EngineOptions o;
  o.max_arena_bytes = 1024;  // the conv output alone is 1 KiB
  expect_load_error(small_classifier(), ErrorCode::kLimit, {"arena", "1024", "max_arena_bytes"}, o);
}

TEST(EngineLimits, TooManySteps) {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  std::string prev = "x";
  for (int i = 0; i < 10; ++i) {
    const std::string out = "r" + std::to_string(i);
    g.nodes.push_back(ob::node(i % 2 ? "Relu" : "Sigmoid", {prev}, {out}, {}, "act" + std::to_string(i)));
    prev = out;
  }
  g.outputs.push_back(ob::value_info(prev, DT::kFloat, {1, 4}));
  EngineOptions o;
  o.max_steps = 6;
  expect_load_error(g, ErrorCode::kLimit, {"'act6'", "max_steps"}, o);
  o.max_steps = 10;
  EXPECT_NO_THROW(Engine::load(bytes_of(g), o));
}

TEST(EngineLimits, RunCostOverTheLimit) {
  // A 64x64 input through a 3x3 conv from 3 to 64 channels: 7 M multiply-adds.
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 3, 64, 64}));
  g.initializers.push_back(floats("w", {64, 3, 3, 3}));
  g.nodes.push_back(ob::node("Conv", {"x", "w"}, {"y"}, {ob::attr_ints("pads", {1, 1, 1, 1})}, "big_conv"));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 64, 64, 64}));
  EngineOptions o;
  o.max_run_ops = 1'000'000;
  expect_load_error(g, ErrorCode::kLimit, {"'big_conv' (Conv)", "max_run_ops"}, o);

  // A max pool whose window (padded) is as large as the op allows: taps count too.
  OnnxGraph p;
  // [1, 64, 181, 181] outputs (2 M elements) of 2^20 taps each.
  p.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 64, 4, 4}));
  p.nodes.push_back(ob::node("MaxPool", {"x"}, {"y"},
                             {ob::attr_ints("kernel_shape", {1024, 1024}), ob::attr_ints("pads", {600, 600, 600, 600})},
                             "wide_pool"));
  p.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 64, 181, 181}));
  expect_load_error(p, ErrorCode::kLimit, {"'wide_pool' (MaxPool)", "max_run_ops"});
}

TEST(EngineLimits, FoldedConstantsOverTheLimit) {
  // Constant column + constant row fold to a [2048, 2048] constant.
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 2048}));
  g.initializers.push_back(floats("col", {2048, 1}));
  g.initializers.push_back(floats("row", {1, 2048}));
  g.nodes.push_back(ob::node("Add", {"col", "row"}, {"table"}, {}, "fold"));
  g.nodes.push_back(ob::node("Mul", {"x", "table"}, {"y"}, {}, "mul"));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {2048, 2048}));
  EngineOptions o;
  o.max_folded_elements = 1'000'000;
  expect_load_error(g, ErrorCode::kLimit, {"'fold' (Add)", "'table'", "max_folded_elements"}, o);
  o = {};
  o.max_value_elements = 1'000'000;
  expect_load_error(g, ErrorCode::kLimit, {"'fold' (Add)", "'table'", "max_value_elements"}, o);
}

TEST(EngineLimits, FoldIsBoundedBeforeItAllocates) {
  // 800 KB of file asking for a 10^10-element (40 GB) folded constant, by
  // broadcasting and by gathering: refused before the fold allocates it.
  const int64_t n = 100'000;
  const std::vector<float> ones(n, 1.f);
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  g.initializers.push_back(ob::float_tensor("col", {n, 1}, ones));
  g.initializers.push_back(ob::float_tensor("row", {1, n}, ones));
  g.nodes.push_back(ob::node("Add", {"col", "row"}, {"table"}, {}, "outer"));
  g.nodes.push_back(ob::node("Relu", {"x"}, {"y"}, {}, "relu"));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 4}));
  expect_load_error(g, ErrorCode::kLimit, {"'outer' (Add)", "'table' f32[100000, 100000]", "max_value_elements"});

  // A [1, n] row gathered along axis 0 with n zero indices: [n, n].
  g.initializers[0] = ob::float_tensor("col", {1, n}, ones);
  g.initializers[1] = ob::int64_tensor("row", {n}, std::vector<int64_t>(n, 0));
  g.nodes[0] = ob::node("Gather", {"col", "row"}, {"table"}, {ob::attr_int("axis", 0)}, "gather");
  expect_load_error(g, ErrorCode::kLimit, {"'gather' (Gather)", "'table' f32[100000, 100000]", "max_value_elements"});
}

TEST(EngineLimits, EmptyRuntimeTensor) {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  g.initializers.push_back(ints("starts", {2}));
  g.initializers.push_back(ints("ends", {2}));
  g.initializers.push_back(ints("axes", {1}));
  g.nodes.push_back(ob::node("Slice", {"x", "starts", "ends", "axes"}, {"s"}, {}, "slice"));
  g.nodes.push_back(ob::node("Relu", {"s"}, {"y"}, {}, "relu"));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 0}));
  expect_load_error(g, ErrorCode::kUnsupported, {"'s' f32[1, 0]", "'slice' (Slice)", "no elements"});
}

TEST(EngineLimits, RuntimeOpOnConstantData) {
  // Relu of an initializer: inference does not fold it, and its step reads
  // the arena, where constants have no slot (found by fuzz_engine:
  // tests/fuzz/crash_const_data_input.onnx).
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  g.initializers.push_back(floats("w", {2, 3, 3, 3}));
  g.nodes.push_back(ob::node("Relu", {"w"}, {"r"}, {}, "relu_of_weights"));
  g.nodes.push_back(ob::node("Add", {"x", "x"}, {"y"}, {}, "add"));
  g.outputs.push_back(ob::value_info("r", DT::kFloat, {2, 3, 3, 3}));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 4}));
  expect_load_error(g, ErrorCode::kUnsupported, {"'relu_of_weights' (Relu)", "'w' f32[2, 3, 3, 3]", "constant"});
}

TEST(EngineLimits, IntegerFoldingThatOverflowsIsAnError) {
  // Shape arithmetic folds in int64: sizes from an untrusted file must not
  // overflow into undefined behaviour (regression inputs of the engine
  // fuzzer: tests/fuzz/seeds_engine/int64_*.onnx).
  struct Case {
    const char* op;
    int64_t a, b;
    const char* what;
  };
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  for (const Case& c : {Case{"Add", kMax, 1, "overflows 64 bits"}, Case{"Sub", kMin, 1, "overflows 64 bits"},
                        Case{"Mul", kMax / 2 + 1, 2, "overflows 64 bits"}, Case{"Mul", kMin, -1, "overflows 64 bits"},
                        Case{"Div", kMin, -1, "INT64_MIN / -1"}, Case{"Div", 7, 0, "division by zero"}}) {
    SCOPED_TRACE(std::string(c.op) + " " + std::to_string(c.a) + ", " + std::to_string(c.b));
    OnnxGraph g;
    g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
    g.initializers.push_back(ints("a", {c.a}));
    g.initializers.push_back(ints("b", {c.b}));
    g.nodes.push_back(ob::node(c.op, {"a", "b"}, {"shape"}, {}, "fold"));
    g.nodes.push_back(ob::node("Reshape", {"x", "shape"}, {"y"}, {}, "reshape"));
    g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 4}));
    expect_load_error(g, ErrorCode::kFormat, {std::string("'fold' (").append(c.op).append(")"), c.what});
  }
}

TEST(EngineLimits, IntegerConstantsReadBack) {
  // A graph output that is folded shape arithmetic reads back as floats.
  OnnxGraph g = small_classifier();
  g.nodes.push_back(ob::node("Shape", {"c"}, {"conv_shape"}, {}, "shape"));
  g.outputs.push_back(ob::value_info("conv_shape", DT::kInt64, {4}));
  Engine e = Engine::load(bytes_of(g));
  e.run(std::vector<float>(192, 0.f));
  EXPECT_EQ(e.read("conv_shape"), (std::vector<float>{1, 4, 8, 8}));
}

}  // namespace
}  // namespace iciia::engine
