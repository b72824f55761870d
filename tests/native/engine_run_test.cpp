// The engine end to end: the benchmark backbones against the PyTorch logits
// stored beside them, and the plan's bookkeeping (fusion, arena reuse).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/engine.h"
#include "engine/op_registry.h"
#include "safetensors/safetensors.h"
#include "test_support.h"
#include "util/error.h"

namespace iciia::engine {
namespace {

float max_abs(const std::vector<float>& v) {
  float m = 0.f;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

TEST(EngineRun, BenchmarkBackbonesMatchPyTorch) {
  auto shared = test::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not found: benchmark backbones not checked";
  for (const char* name : {"mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v2"}) {
    SCOPED_TRACE(name);
    const std::string base = *shared + "/models/" + name;
    Engine e = Engine::load_file(base + ".onnx");
    const Safetensors io = Safetensors::read_file(base + ".io.safetensors");
    const auto x = io.to_f32(io.get("input")), want = io.to_f32(io.get("output"));
    e.run(x);
    const auto got = e.read(e.readable()[0]);
    ASSERT_EQ(got.size(), want.size());
    float worst = 0.f;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
    const float bound = 1e-4f * std::max(1.f, max_abs(want));
    EXPECT_LE(worst, bound);
    std::printf("[ engine ] %s: max |diff| vs PyTorch %.3g (bound %.3g), %zu steps, arena %.1f MB\n", name, worst,
                bound, e.plan().steps.size(), e.arena_bytes() / 1e6);
    // What the plan fused: every activation, BatchNorm, Clip and residual
    // Add of these nets ends up in the epilogue of a Conv or Gemm step, and
    // so does each x * HardSigmoid(x); the only Mul steps left are the
    // squeeze-excitation products, whose operands differ in shape.
    const Graph& g = e.graph();
    for (const auto& s : e.plan().steps) {
      const Node& own = g.nodes[s->nodes[0]];
      const std::string& op = own.op_type();
      SCOPED_TRACE(s->label + " [" + s->kind + "]");
      if (op == "Mul") {
        EXPECT_NE(g.values[own.inputs[0]].dims, g.values[own.inputs[1]].dims) << "an unfused gate";
        continue;
      }
      EXPECT_TRUE(op == "Conv" || op == "Gemm" || op == "GlobalAveragePool" || op == "Flatten" || op == "Reshape")
          << "a standalone " << op;
      for (size_t k = 1; k < s->nodes.size(); ++k) {
        const std::string& fused = g.nodes[s->nodes[k]].op_type();
        EXPECT_TRUE(fused == "BatchNormalization" || fused == "Add" || fused == "Relu" || fused == "Clip" ||
                    fused == "HardSigmoid" || fused == "HardSwish" || fused == "Mul")
            << fused << " fused into " << op;
      }
    }
    // Every runtime node is in exactly one step, or is a reshape the plan
    // aliased (no step).
    std::vector<int> owner(g.nodes.size(), 0);
    for (const auto& s : e.plan().steps)
      for (int k : s->nodes) ++owner[k];
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (g.nodes[i].folded) continue;
      const bool aliased = g.nodes[i].def->flags & kReshapeLike;
      EXPECT_EQ(owner[i], aliased ? owner[i] : 1) << g.nodes[i].label();
      EXPECT_LE(owner[i], 1) << g.nodes[i].label();
    }
  }
}

}  // namespace
}  // namespace iciia::engine
