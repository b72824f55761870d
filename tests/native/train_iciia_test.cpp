// Training and evaluation of ICIIA on synthetic features: clients, groupings
// and their errors, an end-to-end run where attention provably helps, the
// report and the plot, and the `train` / `eval` commands.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "test_support.h"

#ifdef ICIIA_HAVE_TORCH
#include "iciia/model.h"
#include "train/iciia/clients.h"
#include "train/iciia/evaluate.h"
#include "train/iciia/report.h"
#include "train/iciia/trainer.h"
#include "train_test_data.h"
#endif

namespace iciia {
namespace {

#ifdef ICIIA_HAVE_TORCH

using train::ClientSampler;
using train::ClientSpec;
using train::FeatureSet;

const std::vector<std::string> kFashion = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// ---- groupings ----

TEST(ClassGroups, ParsesNamesIndicesAndComments) {
  const auto g = train::parse_groups("# tops\nt-shirt/top, Pullover , 4, Shirt\n\n 5,Sneaker,Ankle boot # shoes\n1,3,8\n",
                                     kFashion, "g.txt");
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0], (std::vector<int>{0, 2, 4, 6}));
  EXPECT_EQ(g[1], (std::vector<int>{5, 7, 9}));
  EXPECT_EQ(g[2], (std::vector<int>{1, 3, 8}));
}

TEST(ClassGroups, TheCommittedFashionMnistGroupingParses) {
  const auto g = train::read_groups(test::source_dir() + "/models/groups/fashion-mnist.txt", kFashion);
  EXPECT_EQ(g, (train::ClassGroups{{0, 2, 4, 6}, {5, 7, 9}, {1, 3, 8}}));
}

TEST(ClassGroups, ErrorsNameFileLineAndClass) {
  test::expect_error([] { train::parse_groups("Trouser\nSandal, Boots\n", kFashion, "g.txt"); }, ErrorCode::kFormat,
                     {"g.txt:2", "unknown class 'Boots'", "Ankle boot"});
  test::expect_error([] { train::parse_groups("1, 10\n", kFashion, "g.txt"); }, ErrorCode::kFormat,
                     {"g.txt:1", "index 10", "10 classes"});
  test::expect_error([] { train::parse_groups("1, -1\n", kFashion, "g.txt"); }, ErrorCode::kFormat,
                     {"g.txt:1", "index -1"});
  test::expect_error([] { train::parse_groups("Bag, Coat\n\nbag\n", kFashion, "g.txt"); }, ErrorCode::kFormat,
                     {"g.txt:3", "'Bag' (8)", "line 1"});
  test::expect_error([] { train::parse_groups("Bag,,Coat\n", kFashion, "g.txt"); }, ErrorCode::kFormat,
                     {"g.txt:1", "empty class entry"});
  test::expect_error([] { train::parse_groups("# nothing\n\n", kFashion, "g.txt"); }, ErrorCode::kFormat,
                     {"g.txt", "no groups"});
  test::expect_error([] { train::read_groups(test::temp_dir() + "/absent.txt", kFashion); }, ErrorCode::kIo,
                     {"absent.txt"});
}

// ---- clients ----

FeatureSet tiny_set(const std::vector<int>& per_class) {
  FeatureSet s;
  s.dim = 2;
  s.num_classes = static_cast<int64_t>(per_class.size());
  for (size_t c = 0; c < per_class.size(); ++c) {
    s.class_names.push_back("c" + std::to_string(c));
    for (int i = 0; i < per_class[c]; ++i) {
      s.labels.push_back(static_cast<int32_t>(c));
      s.features.insert(s.features.end(), {static_cast<float>(c), static_cast<float>(i)});
      for (size_t k = 0; k < per_class.size(); ++k) s.logits.push_back(k == c ? 1.f : 0.f);
    }
  }
  s.count = static_cast<int64_t>(s.labels.size());
  return s;
}

TEST(ClientSampler, DrawsDistinctImagesOfTheClientsClasses) {
  const FeatureSet s = tiny_set({12, 10, 30, 9, 50});
  const ClientSampler sampler(s, ClientSpec{2, 3, {}}, 9, "tiny");
  std::mt19937_64 rng(5);
  std::vector<int> classes;
  std::vector<int64_t> images(9);
  std::map<size_t, int> k_seen;
  for (int i = 0; i < 300; ++i) {
    sampler.sample(rng, classes, images.data());
    ++k_seen[classes.size()];
    ASSERT_TRUE(std::is_sorted(classes.begin(), classes.end()));
    for (int64_t im : images) {
      EXPECT_TRUE(std::binary_search(classes.begin(), classes.end(), s.labels[static_cast<size_t>(im)]));
      EXPECT_EQ(std::count(images.begin(), images.end(), im), 1);
    }
  }
  EXPECT_GT(k_seen[2], 100);
  EXPECT_GT(k_seen[3], 100);
  EXPECT_EQ(k_seen.size(), 2u);
  // Same seed, same draws.
  std::mt19937_64 a(9), b(9);
  std::vector<int64_t> x(9), y(9);
  sampler.sample(a, classes, x.data());
  sampler.sample(b, classes, y.data());
  EXPECT_EQ(x, y);
}

TEST(ClientSampler, ErrorsNameTheSetAndTheClass) {
  const FeatureSet s = tiny_set({12, 0, 30, 5});
  test::expect_error([&] { ClientSampler(s, ClientSpec{2, 2, {}}, 8, "test.safetensors"); },
                     ErrorCode::kInvalidArgument, {"test.safetensors", "'c1' (1) has 0 images", "at least 8"});
  test::expect_error([&] { ClientSampler(s, ClientSpec{2, 2, {{0, 2}, {3}}}, 8, "test.safetensors"); },
                     ErrorCode::kInvalidArgument, {"'c3' (3) has 5 images"});
  EXPECT_NO_THROW(ClientSampler(s, ClientSpec{0, 0, {{0, 2}}}, 8, "test.safetensors"));
  test::expect_error([&] { ClientSampler(s, ClientSpec{5, 5, {}}, 2, "test.safetensors"); },
                     ErrorCode::kInvalidArgument, {"k=5", "only 4 classes"});
  test::expect_error([&] { ClientSampler(s, ClientSpec{3, 2, {}}, 2, "test.safetensors"); },
                     ErrorCode::kInvalidArgument, {"k_min <= k_max"});
  test::expect_error([&] { ClientSampler(s, ClientSpec{0, 0, {{0, 7}}}, 2, "test.safetensors"); },
                     ErrorCode::kInvalidArgument, {"class 7", "4 classes"});
  FeatureSet bad = s;
  bad.labels[3] = 9;
  test::expect_error([&] { ClientSampler(bad, ClientSpec{}, 2, "bad.safetensors"); }, ErrorCode::kInvalidArgument,
                     {"bad.safetensors", "image 3 has label 9"});
}

TEST(ClientSampler, TrainAndTestMustComeFromOneBackbone) {
  const FeatureSet a = tiny_set({3, 3});
  FeatureSet b = a;
  b.dim = 3;
  test::expect_error([&] { train::check_compatible(a, "train.st", b, "test.st"); }, ErrorCode::kInvalidArgument,
                     {"train.st and test.st", "feature widths (2 vs 3)"});
  b = tiny_set({3, 3, 3});
  test::expect_error([&] { train::check_compatible(a, "train.st", b, "test.st"); }, ErrorCode::kInvalidArgument,
                     {"class counts (2 vs 3)"});
  b = a;
  b.class_names[1] = "other";
  test::expect_error([&] { train::check_compatible(a, "train.st", b, "test.st"); }, ErrorCode::kInvalidArgument,
                     {"class 1", "'c1' vs 'other'"});
  b = a;
  b.backbone_sha256 = "ab";
  FeatureSet a2 = a;
  a2.backbone_sha256 = "cd";
  test::expect_error([&] { train::check_compatible(a2, "train.st", b, "test.st"); }, ErrorCode::kInvalidArgument,
                     {"different backbones"});
}

TEST(Presets, TUsesTheLargestPartitionCountWithFourFeaturesEach) {
  EXPECT_EQ(train::preset_partitions('B', 128), 1);
  EXPECT_EQ(train::preset_partitions('T', 128), 32);
  EXPECT_EQ(train::preset_partitions('T', 1280), 320);
  EXPECT_EQ(train::preset_partitions('T', 96), 24);
  EXPECT_EQ(train::preset_partitions('T', 7), 1);
  test::expect_error([] { train::preset_partitions('X', 8); }, ErrorCode::kInvalidArgument, {"preset 'X'"});
  train::TrainOptions o;
  o.heads = 3;
  test::expect_error([&] { train::train_config(o, 16, 4); }, ErrorCode::kInvalidArgument,
                     {"ICIIA-B on 16-wide features", "num_heads 3"});
}

// ---- end to end: attention helps where the history disambiguates ----

struct RingRun : ::testing::Test {
  static constexpr int kClasses = 8, kDim = 16;
  FeatureSet train_set = test::ring_features(kClasses, 400, kDim, 0.45, 21);
  FeatureSet test_set = test::ring_features(kClasses, 150, kDim, 0.45, 22);

  train::TrainOptions options() const {
    train::TrainOptions o;
    o.seq_len = 17;
    o.layers = 1;
    o.steps = 300;
    o.batch = 32;
    o.clients = ClientSpec{2, 2, {}};
    o.label.clear();
    return o;
  }
};

TEST_F(RingRun, IciiaBeatsTheBackboneAndTheAblation) {
  train::EvalOptions e;
  e.train = options();
  e.seeds = {1};
  e.clients = {ClientSpec{2, 2, {}}};
  e.ns = {0, 4, 16};
  e.episodes = 2000;
  e.skip = {"T-full", "T-causal", "t3a"};  // the ring's logits are not affine in its features
  e.verbose = false;
  const train::EvalResult r = train::evaluate(&train_set, "ring-train", test_set, "ring-test", e);
  ASSERT_EQ(r.per_clients.size(), 1u);
  std::map<std::string, std::vector<double>> acc;
  for (const auto& m : r.per_clients[0].methods) {
    acc[m.method] = m.accuracy[0];
    std::printf("[ ring ] %-9s n=0 %.3f  n=4 %.3f  n=16 %.3f\n", m.method.c_str(), m.accuracy[0][0],
                m.accuracy[0][1], m.accuracy[0][2]);
  }
  const double backbone = acc["backbone"][2], ff = acc["ff"][2];
  EXPECT_LT(backbone, 0.85);  // the overlaps are real
  EXPECT_GT(acc["oracle"][2], backbone + 0.10);  // and knowing the classes resolves them
  EXPECT_LT(std::fabs(ff - backbone), 0.05);     // no history, no gain
  for (const char* m : {"B-full", "B-causal"}) {
    EXPECT_GT(acc[m][2], backbone + 0.08) << m;
    EXPECT_GT(acc[m][2], ff + 0.08) << m;
    EXPECT_GT(acc[m][2], acc[m][1]) << m << ": more history, better";
    EXPECT_LT(std::fabs(acc[m][0] - ff), 0.05) << m << ": with no history ICIIA is a plain head";
  }
}

TEST_F(RingRun, PartitionsOptionOverridesOnlyT) {
  train::EvalOptions e;
  e.train = options();
  e.train.steps = 5;
  e.train.partitions = 2;
  e.seeds = {1};
  e.ns = {0, 2};
  e.episodes = 20;
  e.skip = {"ff", "B-full", "B-causal", "T-causal", "t3a"};
  e.verbose = false;
  const train::EvalResult r = train::evaluate(&train_set, "ring-train", test_set, "ring-test", e);
  EXPECT_EQ(r.config_b.num_partitions, 1);
  EXPECT_EQ(r.config_t.num_partitions, 2);
}

// Same seed, same weights: also when other trainings run on other threads
// at the same time (eval --jobs), since each draws from its own generators.
TEST_F(RingRun, TrainingRepeatsForASeed) {
  train::TrainOptions o = options();
  o.steps = 20;
  o.attention = train::Attention::kCausal;
  const auto a = train::train_iciia(train_set, "ring", o).net.named_tensors();
  std::vector<NamedTensor> b, c;
  train::TrainOptions o2 = o;
  o2.seed = 2;
  std::thread other([&] { c = train::train_iciia(train_set, "ring", o2).net.named_tensors(); });
  b = train::train_iciia(train_set, "ring", o).net.named_tensors();
  other.join();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].data, b[i].data) << a[i].name;
  EXPECT_NE(a[0].data, c[0].data);
}

// ---- report and plot ----

train::EvalResult fake_result() {
  train::EvalResult r;
  r.ns = {0, 16};
  r.seeds = {1, 2};
  r.episodes = 100;
  r.backbone_test_accuracy = 0.925;
  r.config_b.dim = r.config_t.dim = 16;
  r.config_t.num_partitions = 4;
  train::ClientResult c{"k=2", {}};
  c.methods.push_back({"backbone", {{0.92, 0.92}, {0.90, 0.90}}, {}, ""});
  c.methods.push_back({"ff", {{0.92, 0.92}, {0.91, 0.91}}, {1.0, 1.0}, ""});
  c.methods.push_back({"B-full", {{0.92, 0.99}, {0.90, 0.98}}, {2.0, 4.0}, ""});
  c.methods.push_back({"B-causal", {{0.92, 0.975}, {0.90, 0.975}}, {}, "w.safetensors"});
  r.per_clients.push_back(c);
  return r;
}

TEST(Report, ChecksTheGoalsOnTheMeans) {
  std::map<std::string, train::GoalCheck> goals;
  for (const auto& g : train::check_goals(fake_result())) goals[g.goal] = g;
  // backbone 91%: B-full 98.5% cuts the error 9 -> 1.5 points (83%), B-causal 97.5% (72%).
  EXPECT_TRUE(goals.at("backbone test accuracy >= 92%").met);
  EXPECT_TRUE(goals.at("ICIIA-B full, k=2, n=16: cuts the backbone's error by >= 75%").met);
  EXPECT_EQ(goals.at("ICIIA-B full, k=2, n=16: cuts the backbone's error by >= 75%").measured,
            "error 9.00% -> 1.50%, cut 83.3%");
  EXPECT_FALSE(goals.at("ICIIA-B causal, k=2, n=16: cuts the backbone's error by >= 75%").met);
  // ff 91.5%: gain over ff 7.0 of 7.5 points.
  EXPECT_TRUE(goals.at("ICIIA-B full, k=2, n=16: gain over ff >= 3/4 of the gain over the backbone").met);
  EXPECT_TRUE(goals.at("ICIIA-B full, k=2: accuracy rises with n").met);
  const auto& causal = goals.at("ICIIA-B: causal within 1 point of full (every client kind and n)");
  EXPECT_TRUE(causal.met);
  EXPECT_EQ(causal.measured, "largest difference at k=2, n=16: full - causal = 1.00 points");
}

TEST(Report, MarkdownHasMeanAndStdPerCell) {
  const std::string md = train::markdown_report(fake_result(), {"Fake", "iciia eval --test t", "fake.png"});
  EXPECT_NE(md.find("## Fake"), std::string::npos);
  EXPECT_NE(md.find("| ICIIA-B full | 91.00 ± 1.41 | 98.50 ± 0.71 | 3 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| ICIIA-B causal | 91.00 ± 1.41 | 97.50 ± 0.00 | loaded |"), std::string::npos) << md;
  EXPECT_NE(md.find("![accuracy against history length](fake.png)"), std::string::npos);
  EXPECT_NE(md.find("**missed**"), std::string::npos);
}

TEST(Report, PlotDrawsEveryMethodInItsColor) {
  const train::LinePlot plot = train::accuracy_plot(fake_result());
  const auto img = train::render_line_plot(plot);
  EXPECT_EQ(img.width, plot.panel_width);
  EXPECT_GT(img.height, plot.panel_height);
  std::map<std::array<uint8_t, 3>, int> colors;
  for (size_t i = 0; i < img.pixels.size(); i += 3) ++colors[{img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]}];
  for (const auto& s : plot.panels[0].series) EXPECT_GT(colors[s.color], 50) << s.label;
  train::LinePlot bad = plot;
  bad.panels[0].series[0].y.pop_back();
  test::expect_error([&] { train::render_line_plot(bad); }, ErrorCode::kInvalidArgument, {"'backbone'", "1 values"});
}

// ---- the commands ----

// Runs the tool; `out` gets its stdout and stderr (through a file in `dir`).
int run_cli(const std::string& dir, const std::string& args, std::string* out) {
  const std::string log = dir + "/cli.log";
  const int status = std::system((std::string(ICIIA_CLI_PATH) + " " + args + " > " + log + " 2>&1").c_str());
  if (out) {
    std::ifstream f(log);
    *out = std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return WEXITSTATUS(status);
}

TEST_F(RingRun, TrainAndEvalCommands) {
  const std::string dir = test::temp_dir();
  train::write_features(train_set, dir + "/train.safetensors");
  train::write_features(test_set, dir + "/test.safetensors");
  std::string out;
  ASSERT_EQ(run_cli(dir, "train --features " + dir + "/train.safetensors --out " + dir +
                        "/t.safetensors --preset T --attention causal --seq-len 9 --steps 30 --seed 4",
                    &out),
            0)
      << out;
  const auto model = IciiaModel::load_file(dir + "/t.safetensors");
  EXPECT_EQ(model->config().num_partitions, 4);
  EXPECT_EQ(model->config().attention, AttentionMode::kCausal);

  ASSERT_EQ(run_cli(dir, "eval --train " + dir + "/train.safetensors --test " + dir + "/test.safetensors --weights T-causal=" +
                        dir + "/t.safetensors --skip B-causal --skip T-full --skip t3a --seeds 1 --episodes 50 --ns 0,8 "
                        "--seq-len 9 --steps 10 --report " + dir + "/r.md --plot " + dir + "/p.png",
                    &out),
            0)
      << out;
  std::ifstream md(dir + "/r.md");
  const std::string report((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(report.find("| ICIIA-T causal |"), std::string::npos) << report;
  EXPECT_NE(report.find("| ICIIA-B full |"), std::string::npos) << report;
  EXPECT_EQ(report.find("ICIIA-T full |"), std::string::npos) << report;
  EXPECT_NE(report.find("--weights T-causal="), std::string::npos) << report;
  EXPECT_GT(std::filesystem::file_size(dir + "/p.png"), 1000u);

  // Bad input: clear errors naming what is wrong, exit 1.
  std::ofstream(dir + "/g.txt") << "ring0, ring1\nring2, ring9\n";
  EXPECT_EQ(run_cli(dir, "train --features " + dir + "/train.safetensors --out " + dir + "/x.safetensors --groups " + dir +
                        "/g.txt",
                    &out),
            1);
  EXPECT_NE(out.find("g.txt:2: unknown class 'ring9'"), std::string::npos) << out;
  EXPECT_EQ(run_cli(dir, "train --features " + dir + "/train.safetensors --out " + dir + "/x.safetensors --clients-k 12",
                    &out),
            1);
  EXPECT_NE(out.find("only 8 classes"), std::string::npos) << out;
  // A mixture: printed as read; a styled kind without --styled says what is missing.
  ASSERT_EQ(run_cli(dir, "train --features " + dir + "/train.safetensors --out " + dir + "/m.safetensors --mix 'k=1-3:2, k=8' "
                        "--seq-len 9 --steps 5",
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("clients mixture k=1-3:2, k=8:1"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/m.safetensors"));
  EXPECT_EQ(run_cli(dir, "train --features " + dir + "/train.safetensors --out " + dir + "/x.safetensors --mix k=2,style",
                    &out),
            1);
  EXPECT_NE(out.find("need a styled training set (--styled FILE"), std::string::npos) << out;
  EXPECT_EQ(run_cli(dir, "train --features " + dir + "/train.safetensors --out " + dir + "/x.safetensors --mix k=2:-1",
                    &out),
            1);
  EXPECT_NE(out.find("is not a positive number"), std::string::npos) << out;
  EXPECT_EQ(run_cli(dir, "train-backbone --style-augment 1.5 --out " + dir + "/b.onnx", &out), 1);
  EXPECT_NE(out.find("--style-augment must be a probability in [0, 1]"), std::string::npos) << out;
  // (The ring's logits are not affine in its features: T3A is skipped.)
  EXPECT_EQ(run_cli(dir, "eval --test " + dir + "/test.safetensors --skip t3a --seeds 1 --episodes 10", &out), 1);
  EXPECT_NE(out.find("needs --train"), std::string::npos) << out;
  EXPECT_EQ(run_cli(dir, "eval --test " + dir + "/test.safetensors --weights ff=" + dir + "/t.safetensors", &out), 1);
  EXPECT_NE(out.find("--weights ff="), std::string::npos) << out;
}

#else

TEST(IciiaTraining, NeedsLibtorch) {
  GTEST_SKIP() << "built without libtorch (Debian's libtorch-dev): training tests skipped";
}

#endif

}  // namespace
}  // namespace iciia
