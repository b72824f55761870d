// The engine's ops without a reference runtime: what the plan makes of each
// op test model (fusions, step counts), the planning of multi-output nodes,
// results that follow from the ops' definitions, and the errors for
// attributes the engine does not run. (tests/node/engine_ops.test.mjs checks
// every test model's numbers against onnxruntime-web and the wasm build.)
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include "../models/test_models.h"
#include "engine/engine.h"
#include "engine/op_registry.h"
#include "onnx/onnx_writer.h"
#include "util/error.h"

namespace iciia::engine {
namespace {

namespace ob = onnx_build;
using test_models::Builder;

std::vector<float> iota(int64_t n, float scale = 0.01f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i) * 0.7f) + scale * static_cast<float>(i);
  return v;
}

int64_t numel(const std::vector<int64_t>& dims) {
  return std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<>());
}

Engine load(const OnnxModel& m, std::vector<int64_t> dims = {}) {
  EngineOptions o;
  o.input_dims = std::move(dims);
  return Engine::load(write_onnx(m), o);
}

std::string kinds_of(const Engine& e) {
  std::string s;
  for (const auto& step : e.plan().steps) s += "[" + step->kind + "] ";
  return s;
}

TEST(EngineOps, EveryTestModelPlansFusesAndRuns) {
  for (const auto& m : test_models::all_test_models()) {
    SCOPED_TRACE(m.name);
    std::optional<Engine> loaded;
    try {
      loaded.emplace(load(m.model, m.input_dims));
    } catch (const Error& err) {
      ADD_FAILURE() << m.name << ": " << err.what();
      continue;
    }
    Engine& e = *loaded;
    const std::string kinds = kinds_of(e);
    if (m.steps >= 0) {
      EXPECT_EQ(static_cast<int>(e.plan().steps.size()), m.steps) << kinds;
    }
    for (const auto& want : m.kinds) EXPECT_NE(kinds.find(want), std::string::npos) << "no '" << want << "' in " << kinds;
    e.run(iota(numel(m.input_dims)));
    for (const auto& name : e.readable()) {
      const auto y = e.read(name);
      EXPECT_EQ(static_cast<int64_t>(y.size()), numel(e.dims(name))) << name;
      for (float v : y) ASSERT_TRUE(std::isfinite(v)) << name;
    }
  }
}

TEST(EngineOps, EveryOpOfTheTableHasATestModel) {
  std::set<std::string> used;
  for (const auto& m : test_models::all_test_models())
    for (const auto& n : m.model.graph.nodes) used.insert(n.op_type);
  for (const OpDef* def : all_ops()) EXPECT_TRUE(used.count(def->op_type)) << def->op_type << " has no test model";
  for (const auto& op : used) EXPECT_NE(find_op(op), nullptr) << op << " is in a test model, not in the table";
}

TEST(EngineOps, TheTableListsTheAttributesTheTestModelsUse) {
  // OpDef::attributes feeds the fuzz dictionary: it must know what the ops read.
  for (const auto& m : test_models::all_test_models())
    for (const auto& n : m.model.graph.nodes) {
      const OpDef* def = find_op(n.op_type);
      ASSERT_NE(def, nullptr) << n.op_type;
      std::set<std::string> listed;
      std::istringstream words(def->attributes);
      for (std::string w; words >> w;) listed.insert(w);
      for (const auto& a : n.attributes) {
        EXPECT_TRUE(listed.count(a.name)) << m.name << ": " << n.op_type << "'s attribute " << a.name << " is not in its entry";
        if (a.type == OnnxAttrType::kString) {
          EXPECT_TRUE(listed.count(a.s)) << m.name << ": " << n.op_type << " " << a.name << " = " << a.s
                                         << " is not in its entry";
        }
      }
    }
}

TEST(EngineOps, SplitPlansEveryOutputInItsOwnMemory) {
  // x [1, 13, 3, 4] -> Split(axis 1: 3, 4, 6) -> three outputs, one of them
  // also consumed by a Relu; all three read back exactly.
  Builder b("split_plan", 13, {1, 13, 3, 4});
  const auto parts = b.ops("Split", {"input", b.ints({3, 4, 6})}, 3, {ob::attr_int("axis", 1)});
  b.output(parts[0]);
  b.output(parts[1]);
  b.output(parts[2]);
  b.output(b.op("Relu", {parts[1]}));
  Engine e = load(b.finish().model);
  ASSERT_EQ(e.plan().steps.size(), 2u);
  EXPECT_EQ(e.plan().steps[0]->kind, "split");
  const auto x = iota(13 * 12);
  e.run(x);
  // Split over channels of NCHW: part k holds channels [begin_k, end_k).
  const int64_t begin[3] = {0, 3, 7}, size[3] = {3, 4, 6};
  for (int k = 0; k < 3; ++k) {
    const auto y = e.read(parts[k]);
    ASSERT_EQ(static_cast<int64_t>(y.size()), size[k] * 12);
    for (int64_t i = 0; i < size[k] * 12; ++i) EXPECT_EQ(y[i], x[begin[k] * 12 + i]) << parts[k] << " " << i;
  }
  const auto r = e.read(e.readable()[3]);
  for (int64_t i = 0; i < 4 * 12; ++i) EXPECT_EQ(r[i], std::max(0.f, x[3 * 12 + i]));
}

TEST(EngineOps, SplitOutputsDoNotOverlap) {
  Builder b("split_overlap", 11, {2, 5, 4, 3});
  const auto parts = b.ops("Split", {"input"}, 3, {ob::attr_int("axis", 1), ob::attr_ints("split", {1, 2, 2})});
  // Consumed later, after one another: all three are live across the middle steps.
  const auto a = b.op("Relu", {parts[2]});
  const auto c = b.op("Add", {parts[1], b.op("Sigmoid", {parts[1]})});
  b.output(b.op("Concat", {parts[0], c, a}, {ob::attr_int("axis", 1)}));
  Engine e = load(b.finish().model);
  const auto x = iota(2 * 5 * 12);
  e.run(x);
  const auto y = e.read(e.readable()[0]);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t ch = 0; ch < 5; ++ch)
      for (int64_t p = 0; p < 12; ++p) {
        const float v = x[(n * 5 + ch) * 12 + p];
        const float want = ch == 0 ? v : ch < 3 ? v + 1.f / (1.f + std::exp(-v)) : std::max(0.f, v);
        EXPECT_NEAR(y[(n * 5 + ch) * 12 + p], want, 1e-6f) << n << " " << ch << " " << p;
      }
}

TEST(EngineOps, TransposeSliceGatherPadFollowTheirDefinitions) {
  // NHWC storage underneath, logical results on read.
  Builder b("moves", 13, {1, 3, 4, 5});
  const auto t = b.op("Transpose", {"input"}, {ob::attr_ints("perm", {0, 3, 1, 2})});  // [1, 5, 3, 4]
  b.output(t);
  b.output(b.op("Slice", {"input", b.ints({2, -1}), b.ints({0, -6}), b.ints({2, 3}), b.ints({-1, -2})}));
  b.output(b.op("Gather", {"input", b.ints({2}, {2, 0})}, {ob::attr_int("axis", 1)}));
  b.output(b.op("Pad", {"input", b.ints({0, 0, 1, 2, 0, 1, 0, 1})}, {ob::attr_string("mode", "reflect")}));
  Engine e = load(b.finish().model);
  const auto x = iota(60);
  auto at = [&](int c, int h, int w) { return x[(c * 4 + h) * 5 + w]; };
  e.run(x);
  const auto yt = e.read(e.readable()[0]);
  for (int w = 0; w < 5; ++w)
    for (int c = 0; c < 3; ++c)
      for (int h = 0; h < 4; ++h) EXPECT_EQ(yt[(w * 3 + c) * 4 + h], at(c, h, w));
  // h from 2 down to 1 (end 0 exclusive), w from 4 down by 2: 4, 2, 0.
  EXPECT_EQ(e.dims(e.readable()[1]), (std::vector<int64_t>{1, 3, 2, 3}));
  const auto ys = e.read(e.readable()[1]);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) EXPECT_EQ(ys[(c * 2 + i) * 3 + j], at(c, 2 - i, 4 - 2 * j));
  const auto yg = e.read(e.readable()[2]);
  for (int k = 0; k < 2; ++k)
    for (int p = 0; p < 20; ++p) EXPECT_EQ(yg[k * 20 + p], x[(k == 0 ? 2 : 0) * 20 + p]);
  EXPECT_EQ(e.dims(e.readable()[3]), (std::vector<int64_t>{1, 4, 5, 8}));
  const auto yp = e.read(e.readable()[3]);
  auto reflect = [](int i, int n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; };
  for (int c = 0; c < 4; ++c)
    for (int h = 0; h < 5; ++h)
      for (int w = 0; w < 8; ++w)
        EXPECT_EQ(yp[(c * 5 + h) * 8 + w], at(reflect(c, 3), reflect(h - 1, 4), reflect(w - 2, 5)))
            << c << " " << h << " " << w;
}

TEST(EngineOps, ResidualReluAndSiluFuseIntoTheConv) {
  for (const auto& m : test_models::all_test_models()) {
    if (m.name != "conv_bn_add_relu" && m.name != "conv_silu" && m.name != "gemm_relu") continue;
    SCOPED_TRACE(m.name);
    Engine e = load(m.model, m.input_dims);
    const auto& last = e.plan().steps.back()->kind;
    if (m.name == "conv_bn_add_relu") {
      ASSERT_EQ(e.plan().steps.size(), 2u);
      EXPECT_NE(last.find("+residual +relu"), std::string::npos) << last;
    } else if (m.name == "conv_silu") {
      ASSERT_EQ(e.plan().steps.size(), 1u);
      EXPECT_NE(last.find("+silu"), std::string::npos) << last;
    } else {
      ASSERT_EQ(e.plan().steps.size(), 1u);
      EXPECT_EQ(last, "gemm +relu");
    }
  }
}

TEST(EngineOps, FusionStopsAtValuesThatMustStayReadable) {
  // Asking for the conv's own output keeps the SiLU out of its epilogue.
  Builder b("silu_kept", 13, {1, 3, 5, 5});
  const auto c = b.conv("input", 3, 5, 3, 1);
  b.output(b.op("Mul", {c, b.op("Sigmoid", {c})}));
  EngineOptions o;
  o.tensors = {c};
  Engine e = Engine::load(write_onnx(b.finish().model), o);
  EXPECT_EQ(e.plan().steps.size(), 3u) << kinds_of(e);
  e.run(iota(75));
  const auto pre = e.read(c), post = e.read(e.readable()[0]);
  for (size_t i = 0; i < pre.size(); ++i) EXPECT_NEAR(post[i], pre[i] / (1.f + std::exp(-pre[i])), 1e-6f);
}

// Loads a model expected to fail with kUnsupported; returns the message.
std::string unsupported_message(const OnnxModel& m) {
  try {
    load(m);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "loaded without an error";
  return "";
}

void expect_mentions(const std::string& message, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
}

TEST(EngineOps, UnsupportedAttributeValuesNameNodeOpAndValue) {
  {
    Builder b("pad_wrap", 17, {1, 3, 4, 5});
    b.output(b.op("Pad", {"input", b.ints({0, 0, 1, 1, 0, 0, 1, 1})}, {ob::attr_string("mode", "wrap")}));
    expect_mentions(unsupported_message(b.finish().model), {"Pad_", "(Pad)", "mode", "wrap"});
  }
  {
    Builder b("pad_reflect_too_far", 13, {1, 3, 4, 5});
    b.output(b.op("Pad", {"input", b.ints({0, 0, 4, 0, 0, 0, 0, 0})}, {ob::attr_string("mode", "reflect")}));
    expect_mentions(unsupported_message(b.finish().model), {"(Pad)", "reflect", "4"});
  }
  {
    Builder b("maxpool_storage_order", 11, {1, 3, 6, 6});
    b.output(b.op("MaxPool", {"input"}, {ob::attr_ints("kernel_shape", {2, 2}), ob::attr_int("storage_order", 1)}));
    expect_mentions(unsupported_message(b.finish().model), {"MaxPool_", "(MaxPool)", "storage_order = 1"});
  }
  {
    Builder b("avgpool_dilations", 13, {1, 3, 6, 6});
    b.output(b.op("AveragePool", {"input"}, {ob::attr_ints("kernel_shape", {2, 2}), ob::attr_ints("dilations", {2, 2})}));
    expect_mentions(unsupported_message(b.finish().model), {"(AveragePool)", "dilations = 2"});
  }
  {
    Builder b("bn_training", 14, {1, 3, 4, 4});
    const auto y = b.bn("input", 3);
    b.output(y);
    OnnxModel m = b.finish().model;
    for (auto& n : m.graph.nodes)
      if (n.op_type == "BatchNormalization") n.attributes.push_back(ob::attr_int("training_mode", 1));
    expect_mentions(unsupported_message(m), {"(BatchNormalization)", "training_mode = 1"});
  }
  {
    Builder b("cast_to_double", 13, {2, 3});
    b.output(b.op("Cast", {"input"}, {ob::attr_int("to", 11)}));
    expect_mentions(unsupported_message(b.finish().model), {"(Cast)", "DOUBLE", "to = 11"});
  }
  {
    Builder b("conv1d", 13, {1, 3, 9});
    b.output(b.op("Conv", {"input", b.weight({4, 3, 3}, 0.5f)}));
    expect_mentions(unsupported_message(b.finish().model), {"(Conv)", "rank-3"});
  }
  {
    Builder b("dropout_training", 13, {1, 3});
    std::vector<int64_t> one = {1};
    const auto mode = b.ints({}, one);
    b.output(b.op("Dropout", {"input", b.scalar(0.5f), mode}));
    expect_mentions(unsupported_message(b.finish().model), {"(Dropout)", "training_mode = 1"});
  }
  {
    Builder b("gemm_runtime_c", 13, {2, 3});
    b.output(b.op("Gemm", {"input", b.weight({3, 3}, 0.5f), "input"}));
    expect_mentions(unsupported_message(b.finish().model), {"(Gemm)", "C ", "run time"});
  }
}

}  // namespace
}  // namespace iciia::engine
