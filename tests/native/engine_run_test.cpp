// The engine end to end: the benchmark backbones against the PyTorch logits
// stored beside them, and the plan's bookkeeping (fusion, arena reuse).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/engine.h"
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
    // Everything after a Conv fused into it: no standalone HardSigmoid/Mul
    // chains for hardswish, Clip for relu6, Add for residuals.
    int standalone = 0;
    for (const auto& s : e.plan().steps)
      if (s->kind == "relu6" || s->kind == "hardswish" || s->kind == "Add") ++standalone;
    EXPECT_EQ(standalone, 0);
  }
}

}  // namespace
}  // namespace iciia::engine
