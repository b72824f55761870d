// `iciia forward` end to end: the binary reads a sequence, writes logits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "safetensors/safetensors.h"
#include "test_support.h"

namespace iciia {
namespace {

namespace fs = std::filesystem;

int run(const std::string& args, const std::string& log) {
  const std::string cmd = std::string(ICIIA_CLI_PATH) + " " + args + " > " + log + " 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const std::string& path) {
  auto b = test::read_bytes(path);
  return std::string(b.begin(), b.end());
}

TEST(CliForward, WritesOutputMatchingTheFixture) {
  const fs::path dir = fs::path(test::source_dir()) / "tests/fixtures/iciia";
  const std::string tmp = test::temp_dir();
  for (const char* name : {"g4_d16_h4_l2_noshuffle_full", "g5_d12_h5_l2_noshuffle_causal_pad"}) {
    const std::string out = tmp + "/" + name + ".out.safetensors";
    ASSERT_EQ(run("forward --weights " + (dir / (std::string(name) + ".safetensors")).string() + " --input " +
                      (dir / (std::string(name) + ".io.safetensors")).string() + " --output " + out,
                  tmp + "/log"),
              0)
        << slurp(tmp + "/log");
    const auto got = Safetensors::read_file(out), want = Safetensors::read_file((dir / (std::string(name) + ".io.safetensors")).string());
    ASSERT_EQ(got.get("output").shape, want.get("output").shape);
    const auto g = got.to_f32(got.get("output")), w = want.to_f32(want.get("output"));
    for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], w[i], 1e-4f) << name << " value " << i;
  }
}

TEST(CliForward, ReportsBadWeightsWithTheReason) {
  const std::string tmp = test::temp_dir();
  const fs::path io = fs::path(test::source_dir()) / "tests/fixtures/iciia/g1_d16_h4_l1_full.io.safetensors";
  // An io file has no ICIIA metadata: the error must say which key is missing.
  EXPECT_EQ(run("forward --weights " + io.string() + " --input " + io.string() + " --output " + tmp + "/o",
                tmp + "/log"),
            1);
  EXPECT_NE(slurp(tmp + "/log").find("'format'"), std::string::npos) << slurp(tmp + "/log");
  EXPECT_FALSE(fs::exists(tmp + "/o"));
  EXPECT_NE(run("forward --weights /nonexistent --input x --output y", tmp + "/log"), 0);
  EXPECT_NE(slurp(tmp + "/log").find("/nonexistent"), std::string::npos) << slurp(tmp + "/log");
}

}  // namespace
}  // namespace iciia
