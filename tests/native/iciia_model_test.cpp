// The full-sequence forward pass against outputs of independent
// implementations: the paper's PyTorch module (../shared/reference/iciia) and
// the project's libtorch fixtures (tests/fixtures/iciia, see its README).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "iciia/model.h"
#include "iciia_test_models.h"
#include "util/error.h"

namespace iciia {
namespace {

namespace fs = std::filesystem;

// Checks every output row of NAME.io.safetensors against NAME.safetensors.
void expect_reproduces(const fs::path& weights, float tolerance) {
  SCOPED_TRACE(weights.string());
  auto model = IciiaModel::load_file(weights.string());
  fs::path io = weights;
  io.replace_extension(".io.safetensors");
  const Safetensors ref = Safetensors::read_file(io.string());
  const TensorInfo& in = ref.get("input");
  const TensorInfo& out = ref.get("output");
  ASSERT_EQ(in.shape.size(), 2u);
  ASSERT_EQ(in.shape[1], model->config().dim);
  const int S = static_cast<int>(in.shape[0]), C = model->config().num_classes;
  ASSERT_EQ(out.shape, (std::vector<int64_t>{S, C}));
  const auto x = ref.to_f32(in), want = ref.to_f32(out);
  std::vector<float> got(want.size());
  model->forward(x, S, got);
  float worst = 0.f;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  EXPECT_LE(worst, tolerance) << "worst |diff| over " << S << " rows";
  std::printf("[ reproduce ] %s: max |diff| %.3g over %d x %d\n", weights.filename().c_str(), worst, S, C);
}

std::vector<fs::path> weight_files(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".safetensors") && !name.ends_with(".io.safetensors")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(IciiaReference, ReproducesPaperModuleOutputs) {
  auto shared = test::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not found: the paper's reference vectors are not checked";
  auto files = weight_files(fs::path(*shared) / "reference" / "iciia");
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) expect_reproduces(f, 1e-4f);
}

TEST(IciiaReference, ReproducesProjectFixtures) {
  auto files = weight_files(fs::path(test::source_dir()) / "tests" / "fixtures" / "iciia");
  ASSERT_GE(files.size(), 6u) << "fixtures missing from tests/fixtures/iciia";
  for (const auto& f : files) expect_reproduces(f, 1e-4f);
}

// ---- loader errors: each names what is wrong ----

struct LoaderErrors : ::testing::Test {
  IciiaConfig config = test::make_config(12, 5, 2, 1, 3, true, AttentionMode::kFull);
  std::vector<NamedTensor> tensors = test::random_tensors(config, 7);

  // Returns the error the loader throws for a file built from config/tensors.
  Error load_error() {
    try {
      IciiaModel::load(test::weights_file(config, tensors));
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "expected the loader to throw";
    return Error(ErrorCode::kIo, "");
  }
  void expect(ErrorCode code, const std::string& substring) {
    Error e = load_error();
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(substring), std::string::npos) << e.what();
  }
};

TEST_F(LoaderErrors, ValidFileLoads) {
  auto model = IciiaModel::load(test::weights_file(config, tensors));
  EXPECT_EQ(model->config().dim, 12);
  EXPECT_EQ(model->work_dim(), 12);
}

TEST_F(LoaderErrors, MissingTensor) {
  tensors.erase(tensors.begin() + 3);
  expect(ErrorCode::kFormat, "missing tensor 'encoder.layers.0.self_attn.out_proj_bias'");
}

TEST_F(LoaderErrors, WrongShape) {
  tensors[0].shape = {3, 6, 8};
  tensors[0].data.resize(3 * 6 * 8);
  expect(ErrorCode::kShape, "'encoder.layers.0.self_attn.in_proj_weight' has shape [3, 6, 8], expected [3, 12, 4]");
}

TEST_F(LoaderErrors, NonFiniteWeight) {
  tensors.back().data[2] = NAN;
  expect(ErrorCode::kFormat, "'classifier.bias' has a non-finite value");
}

TEST_F(LoaderErrors, UnexpectedTensor) {
  tensors.push_back({"encoder.layers.1.linear1.bias", {12}, std::vector<float>(12, 0.f)});
  expect(ErrorCode::kFormat, "unexpected tensor 'encoder.layers.1.linear1.bias'");
}

TEST(IciiaMetadata, EachBadKeyIsNamed) {
  const auto good = test::make_config(8, 3, 2, 1, 1, true, AttentionMode::kFull).to_metadata();
  struct Case {
    std::string key, value;
    ErrorCode code;
    std::string substring;
  };
  const std::vector<Case> cases = {
      {"format", "iciia/2", ErrorCode::kUnsupported, "format \"iciia/2\" is not supported"},
      {"dim", "-4", ErrorCode::kFormat, "'dim' is \"-4\""},
      {"dim", "8x", ErrorCode::kFormat, "'dim' is \"8x\""},
      {"num_heads", "3", ErrorCode::kFormat, "num_heads 3 must divide the encoder width 8"},
      {"num_partitions", "9", ErrorCode::kFormat, "num_partitions 9 must be in [1, dim=8]"},
      {"shuffle", "yes", ErrorCode::kFormat, "'shuffle' is \"yes\""},
      {"attention", "local", ErrorCode::kFormat, "'attention' is \"local\""},
      {"num_layers", "", ErrorCode::kFormat, "'num_layers'"},
  };
  for (const auto& c : cases) {
    auto m = good;
    m[c.key] = c.value;
    try {
      IciiaConfig::from_metadata(m);
      ADD_FAILURE() << c.key << "=" << c.value << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), c.code) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.substring), std::string::npos) << e.what();
    }
  }
  auto m = good;
  m.erase("num_classes");
  EXPECT_THROW(IciiaConfig::from_metadata(m), Error);
}

TEST(IciiaModel, PaddingEmbedsPartitionsSeparately) {
  // d = 10, g = 3: bounds [0,3) [3,6) [6,10), padded to 4 each.
  auto model = test::random_model(test::make_config(10, 2, 2, 1, 3, true, AttentionMode::kFull));
  ASSERT_EQ(model->work_dim(), 12);
  std::vector<float> f(10), e(12);
  for (int i = 0; i < 10; ++i) f[i] = static_cast<float>(i + 1);
  model->embed(f.data(), e.data());
  EXPECT_EQ(e, (std::vector<float>{1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 10}));
}

TEST(IciiaModel, ForwardRejectsWrongSizes) {
  auto model = test::random_model(test::make_config(8, 3, 2, 1, 1, true, AttentionMode::kFull));
  std::vector<float> x(15), y(6);
  try {
    model->forward(x, 2, y);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("input has 15 values"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace iciia
