// The trainable ICIIA module against the paper's reference vectors, the
// project's independent fixtures and the runtime (IciiaModel) on its own
// saved weights.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"

#ifdef ICIIA_HAVE_TORCH
#include "iciia/model.h"
#include "iciia/session.h"
#include <ATen/CPUGeneratorImpl.h>
#include "train/iciia/iciia_net.h"
#include "train/iciia/trainer.h"
#include "train_test_data.h"
#endif

namespace iciia {
namespace {

namespace fs = std::filesystem;

#ifdef ICIIA_HAVE_TORCH

using train::Attention;
using train::IciiaNet;

// Max |difference| between the module's outputs on NAME.io's input and its `output`.
float reproduce(const fs::path& weights) {
  const IciiaNet net = IciiaNet::load(weights.string());
  fs::path io = weights;
  io.replace_extension(".io.safetensors");
  const Safetensors ref = Safetensors::read_file(io.string());
  const TensorInfo& in = ref.get("input");
  std::vector<float> x = ref.to_f32(in), want = ref.to_f32(ref.get("output"));
  torch::NoGradGuard no_grad;
  const torch::Tensor got = net.forward(torch::from_blob(x.data(), {1, in.shape[0], in.shape[1]}));
  EXPECT_EQ(static_cast<size_t>(got.numel()), want.size());
  const torch::Tensor expected = torch::from_blob(want.data(), got.sizes());
  return (got - expected).abs().max().item<float>();
}

std::vector<fs::path> weight_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".safetensors") && !name.ends_with(".io.safetensors")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(IciiaNet, ReproducesPaperModuleOutputs) {
  const auto shared = test::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not found: the paper's reference vectors are not checked";
  const auto files = weight_files(fs::path(*shared) / "reference" / "iciia");
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    const float diff = reproduce(f);
    std::printf("[ reproduce ] %s: max |diff| %.3g\n", f.filename().c_str(), diff);
    EXPECT_LE(diff, 1e-4f) << f;
  }
}

TEST(IciiaNet, ReproducesProjectFixtures) {
  const auto files = weight_files(fs::path(test::source_dir()) / "tests" / "fixtures" / "iciia");
  ASSERT_GE(files.size(), 6u);
  for (const auto& f : files) EXPECT_LE(reproduce(f), 1e-4f) << f;
}

struct RoundTripCase {
  const char* name;
  int dim, heads, layers, partitions;
  bool shuffle;
  Attention attention;
};

class IciiaNetRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

// A briefly trained module (so no weight keeps its initial constant), saved
// and loaded by the runtime, gives the module's outputs; and the runtime's
// cached session (what the browser runs) gives the last position's.
TEST_P(IciiaNetRoundTrip, RuntimeLoadsWhatTheModuleSaves) {
  const RoundTripCase& c = GetParam();
  const train::FeatureSet data = test::ring_features(5, 24, c.dim, 0.3, 11);
  train::TrainOptions o;
  o.attention = c.attention;
  o.layers = c.layers;
  o.heads = c.heads;
  o.partitions = c.partitions;
  o.shuffle = c.shuffle;
  o.seq_len = 9;
  o.steps = 20;
  o.batch = 4;
  o.label.clear();
  const IciiaNet net = train::train_iciia(data, "ring", o).net;
  EXPECT_EQ(net.config().num_partitions, c.partitions);

  const std::string path = test::temp_dir() + "/w.safetensors";
  net.save(path);
  const auto model = IciiaModel::load_file(path);
  EXPECT_EQ(model->config().to_metadata(), net.config().to_metadata());

  const int S = 7, d = c.dim, C = 5;
  std::vector<float> x(data.features.begin(), data.features.begin() + S * d);
  std::vector<float> want(static_cast<size_t>(S) * C);
  model->forward(x, S, want);
  torch::NoGradGuard no_grad;
  const torch::Tensor got = net.forward(torch::from_blob(x.data(), {1, S, d})).reshape({-1});
  float worst = 0;
  for (int i = 0; i < S * C; ++i) worst = std::max(worst, std::fabs(got[i].item<float>() - want[static_cast<size_t>(i)]));
  EXPECT_LE(worst, 1e-4f);
  // Outputs that merely agree at zero would prove nothing.
  EXPECT_GT(got.abs().max().item<float>(), 0.1f);

  IciiaSession session(model);
  for (int s = 0; s + 1 < S; ++s) session.append(std::span<const float>(x.data() + s * d, d));
  const auto q = session.query(std::span<const float>(x.data() + (S - 1) * d, d));
  for (int k = 0; k < C; ++k) EXPECT_NEAR(q.logits[k], want[static_cast<size_t>((S - 1) * C + k)], 1e-4f);
}

INSTANTIATE_TEST_SUITE_P(
    Configs, IciiaNetRoundTrip,
    ::testing::Values(RoundTripCase{"g1_full", 12, 4, 1, 1, true, Attention::kFull},
                      RoundTripCase{"g1_causal_l2", 12, 3, 2, 1, true, Attention::kCausal},
                      RoundTripCase{"g4_shuffle_full", 16, 4, 1, 4, true, Attention::kFull},
                      RoundTripCase{"g4_noshuffle_causal_l2", 16, 2, 2, 4, false, Attention::kCausal},
                      RoundTripCase{"g3_pad_shuffle_full", 10, 2, 1, 3, true, Attention::kFull},
                      RoundTripCase{"g5_pad_noshuffle_causal", 12, 5, 2, 5, false, Attention::kCausal}),
    [](const auto& info) { return std::string(info.param.name); });

// ff: each position's output is what it gets alone, whatever the sequence.
TEST(IciiaNet, FfIgnoresTheOtherPositions) {
  IciiaConfig c;
  c.dim = 12, c.num_classes = 4, c.num_heads = 2, c.num_layers = 2, c.num_partitions = 3;
  const IciiaNet net(c, Attention::kFf, at::detail::createCPUGenerator(3));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 6, 12});
  const torch::Tensor together = net.forward(x);
  const torch::Tensor alone = net.forward(x.reshape({12, 1, 12})).reshape({2, 6, 4});
  EXPECT_LE((together - alone).abs().max().item<float>(), 1e-5f);
}

// causal: a prefix's outputs do not depend on what follows it.
TEST(IciiaNet, CausalPrefixIsIndependentOfTheFuture) {
  IciiaConfig c;
  c.dim = 8, c.num_classes = 3, c.num_heads = 2, c.num_layers = 2;
  const IciiaNet causal(c, Attention::kCausal, at::detail::createCPUGenerator(4));
  const IciiaNet full(c, Attention::kFull, at::detail::createCPUGenerator(4));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({1, 7, 8});
  const torch::Tensor prefix = x.narrow(1, 0, 4);
  EXPECT_LE((causal.forward(x).narrow(1, 0, 4) - causal.forward(prefix)).abs().max().item<float>(), 1e-5f);
  EXPECT_GT((full.forward(x).narrow(1, 0, 4) - full.forward(prefix)).abs().max().item<float>(), 1e-3f);
}

TEST(IciiaNet, SaveRefusesFf) {
  IciiaConfig c;
  c.dim = 8, c.num_classes = 3, c.num_heads = 2;
  const IciiaNet net(c, Attention::kFf, at::detail::createCPUGenerator(5));
  test::expect_error([&] { net.save(test::temp_dir() + "/ff.safetensors"); }, ErrorCode::kInvalidArgument,
                     {"ff", "evaluation only"});
}

TEST(IciiaNet, LoadNamesWhatIsWrong) {
  test::expect_error([] { IciiaNet::load(test::temp_dir() + "/absent.safetensors"); }, ErrorCode::kIo,
                     {"absent.safetensors"});
}

#else

TEST(IciiaNet, NeedsLibtorch) { GTEST_SKIP() << "built without libtorch (Debian's libtorch-dev): training tests skipped"; }

#endif

}  // namespace
}  // namespace iciia
