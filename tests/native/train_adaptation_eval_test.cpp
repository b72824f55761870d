// The client kinds and baselines of `iciia eval` (issue 10): episodes
// deterministic per seed and shared by every method, repeat clients never
// showing the identical view twice, style clients holding one style, and
// T3A / LAME / the recovered linear head on cases with known answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "test_support.h"

#ifdef ICIIA_HAVE_TORCH
#include "train/iciia/baselines.h"
#include "train/iciia/clients.h"
#include "train/iciia/evaluate.h"
#include "train/iciia/report.h"
#include "train/iciia/trainer.h"
#include "train_test_data.h"
#endif

namespace iciia {
namespace {

#ifdef ICIIA_HAVE_TORCH

using train::ClientKind;
using train::ClientSpec;
using train::FeatureSet;

// A styled set: `sources` images of `classes` classes under `styles` styles,
// style-major as extract writes it; feature row = (style, source, label).
FeatureSet styled_set(int classes, int sources, int styles) {
  FeatureSet s;
  s.dim = 3;
  s.num_classes = classes;
  for (int c = 0; c < classes; ++c) s.class_names.push_back("c" + std::to_string(c));
  for (int st = 0; st < styles; ++st)
    for (int j = 0; j < sources; ++j) {
      const int label = j % classes;
      s.features.insert(s.features.end(), {static_cast<float>(st), static_cast<float>(j), static_cast<float>(label)});
      for (int k = 0; k < classes; ++k) s.logits.push_back(k == label ? 10.f : 0.f);
      s.labels.push_back(label);
      s.styles.push_back(st);
      s.sources.push_back(100 + j);
    }
  s.count = static_cast<int64_t>(s.labels.size());
  return s;
}

TEST(ClientKinds, ParseAndDescribe) {
  const train::ClassGroups groups = {{0, 1}, {2}};
  EXPECT_EQ(train::parse_client_kind("k=1", {}).describe(), "k=1");
  EXPECT_EQ(train::parse_client_kind("k=2-4", {}).describe(), "k=2-4");
  EXPECT_EQ(train::parse_client_kind("groups", groups).describe(), "groups(2)");
  EXPECT_EQ(train::parse_client_kind("repeats", {}).describe(), "repeats(3-5)");
  EXPECT_EQ(train::parse_client_kind("style", {}).describe(), "style");
  EXPECT_EQ(train::parse_client_kind("mixed", {}).describe(), "style+k=2");
  test::expect_error([] { train::parse_client_kind("groups", {}); }, ErrorCode::kInvalidArgument, {"--groups"});
  test::expect_error([] { train::parse_client_kind("k=0", {}); }, ErrorCode::kInvalidArgument, {"k=0", "KMIN"});
  test::expect_error([] { train::parse_client_kind("k=3-2", {}); }, ErrorCode::kInvalidArgument, {"k=3-2"});
  test::expect_error([] { train::parse_client_kind("weather", {}); }, ErrorCode::kInvalidArgument,
                     {"'weather'", "repeats, style or mixed"});
}

TEST(ClientKinds, RepeatsNeverShowTheSameViewTwice) {
  const FeatureSet s = styled_set(4, 40, 8);  // 3 objects x 8 views = 24 >= 17
  ClientSpec spec;
  spec.kind = ClientKind::kRepeats;
  const train::ClientSampler sampler(s, spec, 17, "styled");
  std::mt19937_64 rng(3);
  std::vector<int> classes;
  std::vector<int64_t> images(17);
  std::map<size_t, int> objects_seen;
  for (int i = 0; i < 300; ++i) {
    sampler.sample(rng, classes, images.data());
    std::set<int32_t> sources;
    for (int64_t im : images) {
      sources.insert(s.sources[static_cast<size_t>(im)]);
      EXPECT_TRUE(std::binary_search(classes.begin(), classes.end(), s.labels[static_cast<size_t>(im)]));
    }
    ++objects_seen[sources.size()];
    // Every entry is one (image, view): distinct entries are distinct views.
    std::set<int64_t> distinct(images.begin(), images.end());
    ASSERT_EQ(distinct.size(), images.size());
    // The target's image is under another style than each of its history's views of that image.
    const int64_t target = images.back();
    for (size_t j = 0; j + 1 < images.size(); ++j)
      if (s.sources[static_cast<size_t>(images[j])] == s.sources[static_cast<size_t>(target)]) {
        EXPECT_NE(s.styles[static_cast<size_t>(images[j])], s.styles[static_cast<size_t>(target)]);
      }
  }
  for (const auto& [n, count] : objects_seen) EXPECT_TRUE(n >= 3 && n <= 5) << n;
  EXPECT_GE(objects_seen.size(), 2u);
  // Too few views for the sequence length is an error, not a loop.
  test::expect_error([&] { train::ClientSampler(s, spec, 25, "styled"); }, ErrorCode::kInvalidArgument,
                     {"3 objects x 8 views", "25"});
  // Repeats and styles need a styled set.
  FeatureSet plain = s;
  plain.styles.clear();
  plain.sources.clear();
  test::expect_error([&] { train::ClientSampler(plain, spec, 5, "plain.st"); }, ErrorCode::kInvalidArgument,
                     {"repeats(3-5)", "plain.st", "--styles"});
}

TEST(ClientKinds, StyleClientsKeepOneStyleMixedOnesAlsoTheirClasses) {
  const FeatureSet s = styled_set(3, 60, 5);  // 20 images per class and style
  ClientSpec style = train::parse_client_kind("style", {});
  ClientSpec mixed = train::parse_client_kind("mixed", {});
  const train::ClientSampler a(s, style, 12, "styled"), b(s, mixed, 12, "styled");
  std::mt19937_64 rng(8);
  std::vector<int> classes;
  std::vector<int64_t> images(12);
  std::set<int32_t> styles_seen;
  for (int i = 0; i < 100; ++i) {
    a.sample(rng, classes, images.data());
    EXPECT_EQ(classes.size(), 3u);
    for (int64_t im : images) EXPECT_EQ(s.styles[static_cast<size_t>(im)], s.styles[static_cast<size_t>(images[0])]);
    styles_seen.insert(s.styles[static_cast<size_t>(images[0])]);
    b.sample(rng, classes, images.data());
    EXPECT_EQ(classes.size(), 2u);
    for (int64_t im : images) {
      EXPECT_EQ(s.styles[static_cast<size_t>(im)], s.styles[static_cast<size_t>(images[0])]);
      EXPECT_TRUE(std::binary_search(classes.begin(), classes.end(), s.labels[static_cast<size_t>(im)]));
    }
  }
  EXPECT_EQ(styles_seen.size(), 5u);
  test::expect_error([&] { train::ClientSampler(s, style, 21, "styled"); }, ErrorCode::kInvalidArgument,
                     {"under style 0", "at least 21"});
}

TEST(Episodes, DeterministicPerSeedAndOtherSeedsDiffer) {
  const FeatureSet s = styled_set(4, 80, 6);
  for (const char* kind : {"k=2", "repeats", "style", "mixed"}) {
    const ClientSpec spec = train::parse_client_kind(kind, {});
    const train::Episodes a = train::draw_episodes(s, "st", spec, 50, 16, 7);
    const train::Episodes b = train::draw_episodes(s, "st", spec, 50, 16, 7);
    const train::Episodes c = train::draw_episodes(s, "st", spec, 50, 16, 8);
    EXPECT_EQ(a.images, b.images) << kind;
    EXPECT_EQ(a.classes, b.classes) << kind;
    EXPECT_NE(a.images, c.images) << kind;
  }
}

TEST(LinearHead, RecoversAnAffineClassifierExactly) {
  std::mt19937_64 rng(4);
  const int d = 5, C = 3, rows = 40;
  std::vector<float> x(rows * d), z(rows * C);
  const double W[C][d] = {{1, -2, 0.5, 0, 3}, {0.25, 1, -1, 2, 0}, {-1, 0, 0, 1.5, -0.5}}, b[C] = {0.1, -0.3, 2};
  for (auto& v : x) v = static_cast<float>(static_cast<double>(rng() % 2001) / 1000.0 - 1);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < C; ++c) {
      double v = b[c];
      for (int i = 0; i < d; ++i) v += W[c][i] * x[static_cast<size_t>(r * d + i)];
      z[static_cast<size_t>(r * C + c)] = static_cast<float>(v);
    }
  const train::LinearHead h = train::fit_linear_head(x, z, rows, d, C);
  for (int c = 0; c < C; ++c) {
    EXPECT_NEAR(h.bias[static_cast<size_t>(c)], b[c], 1e-5);
    for (int i = 0; i < d; ++i) EXPECT_NEAR(h.weight[static_cast<size_t>(c * d + i)], W[c][i], 1e-5);
  }
  EXPECT_LT(h.max_residual, 1e-5);
  test::expect_error([&] { train::fit_linear_head(std::span<const float>(x).first(4 * d), std::span<const float>(z).first(4 * C), 4, d, C); },
                     ErrorCode::kInvalidArgument, {"4 rows", "5 weights"});
}

TEST(T3A, PrototypesFromPseudoLabelsWorkedByHand) {
  // Two classes, classifier rows e0 and e1, no bias. History: one image
  // h = (0.6, 0.8) (pseudo-label 1). Target t = (0.7, 0.65) (pseudo-label 0:
  // the backbone says class 0). Supports: class 0 {e0, t/|t|}, class 1
  // {e1, h}; prototype_k = normalised sum of normalised supports; logits
  // t . prototype_k.
  train::LinearHead head;
  head.dim = 2;
  head.classes = 2;
  head.weight = {1, 0, 0, 1};
  head.bias = {0, 0};
  const std::vector<float> feats = {0.6f, 0.8f, 0.7f, 0.65f};
  const std::vector<float> logits = {0.6f, 0.8f, 0.7f, 0.65f};
  const std::vector<double> got = train::t3a_logits(head, feats, logits, 2);
  const double tn = std::hypot(0.7, 0.65);
  const double p0x = 1 + 0.7 / tn, p0y = 0.65 / tn, n0 = std::hypot(p0x, p0y);
  const double p1x = 0.6, p1y = 1.8, n1 = std::hypot(p1x, p1y);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NEAR(got[0], (0.7 * p0x + 0.65 * p0y) / n0, 1e-6);
  EXPECT_NEAR(got[1], (0.7 * p1x + 0.65 * p1y) / n1, 1e-6);
  // Without history, the supports are e0 + t and e1 alone: class 0's logit
  // is the same, class 1's is t . e1; the history moved class 1's prototype
  // towards the target.
  const std::vector<double> alone = train::t3a_logits(head, std::span<const float>(feats).subspan(2),
                                                      std::span<const float>(logits).subspan(2), 1);
  EXPECT_NEAR(alone[0], got[0], 1e-12);
  EXPECT_NEAR(alone[1], 0.65, 1e-6);
  EXPECT_GT(got[1], alone[1] + 0.15);
  // The filter keeps the lowest-entropy supports: with filter 1, class 0 keeps
  // only e0 (its classifier row is more certain than the target).
  train::T3AOptions one;
  one.filter = 1;
  const std::vector<double> filtered = train::t3a_logits(head, feats, logits, 2, one);
  EXPECT_NEAR(filtered[0], 0.7, 1e-6);
}

TEST(Lame, NoNeighboursKeepsTheBackboneAndTheFixedPointHolds) {
  const std::vector<float> probs = {0.9f, 0.1f, 0.45f, 0.55f, 0.2f, 0.8f};
  // One image: no neighbours, y = p.
  const std::vector<float> one_feat = {1, 0};
  const std::vector<double> y1 = train::lame_assignments(one_feat, std::span<const float>(probs).first(2), 1, 2, 2);
  EXPECT_NEAR(y1[0], 0.9, 1e-7);
  EXPECT_NEAR(y1[1], 0.1, 1e-7);
  // Three images, one neighbour each: images 0 and 1 are close, image 2 far
  // from both but nearer to 1. The answer satisfies
  // y_i = softmax(log p_i + y_nn(i)) (the paper's fixed point).
  const std::vector<float> feats = {1, 0, 0.95f, 0.31f, 0, 1};
  train::LameOptions o;
  o.knn = 1;
  const std::vector<double> y = train::lame_assignments(feats, probs, 3, 2, 2, o);
  const int nn[3] = {1, 0, 1};
  for (int i = 0; i < 3; ++i) {
    const double a = std::log(probs[static_cast<size_t>(2 * i)] + 1e-10) + y[static_cast<size_t>(2 * nn[i])];
    const double b = std::log(probs[static_cast<size_t>(2 * i + 1)] + 1e-10) + y[static_cast<size_t>(2 * nn[i] + 1)];
    EXPECT_NEAR(y[static_cast<size_t>(2 * i)], std::exp(a) / (std::exp(a) + std::exp(b)), 1e-7) << i;
  }
  // Image 1 was unsure (0.45 / 0.55) and its confident neighbour 0 pulls it to class 0.
  EXPECT_GT(y[2], y[3]);
}

TEST(EvalBaselines, SameEpisodesForEveryMethod) {
  // At n = 0 EM (one image) and LAME (no neighbours) cannot change the
  // backbone's answer: equal accuracies show they scored the same targets.
  const FeatureSet test_set = test::ring_features(6, 120, 8, 0.45, 5);
  train::EvalOptions e;
  e.seeds = {1, 2};
  e.clients = {ClientSpec{2, 2, {}}};
  e.ns = {0, 8};
  e.episodes = 400;
  e.skip = {"oracle", "oracle-views", "t3a", "ff", "B-full", "B-causal", "T-full", "T-causal"};
  e.verbose = false;
  const train::EvalResult r = train::evaluate(nullptr, "", test_set, "ring-test", e);
  std::map<std::string, std::vector<std::vector<double>>> acc;
  for (const auto& m : r.per_clients[0].methods) acc[m.method] = m.accuracy;
  ASSERT_EQ(acc.size(), 5u);  // backbone, em-ml, em-map, em-map@gate, lame (module rows follow their skipped modules)
  for (size_t seed = 0; seed < 2; ++seed) {
    EXPECT_EQ(acc["em-ml"][seed][0], acc["backbone"][seed][0]);
    EXPECT_EQ(acc["em-map"][seed][0], acc["backbone"][seed][0]);
    EXPECT_EQ(acc["lame"][seed][0], acc["backbone"][seed][0]);
    // One image cannot show a shift: the gate holds, the backbone answers.
    EXPECT_EQ(acc["em-map@gate"][seed][0], acc["backbone"][seed][0]);
    // With 8 images of a 2-class client, prior correction helps on ring clients.
    EXPECT_GT(acc["em-ml"][seed][1], acc["backbone"][seed][1]);
  }
  // The ring's logits are not affine in its features: T3A says why it cannot run.
  e.skip = {"ff", "B-full", "B-causal", "T-full", "T-causal"};
  test::expect_error([&] { train::evaluate(nullptr, "", test_set, "ring-test", e); }, ErrorCode::kInvalidArgument,
                     {"not an affine map", "--skip t3a"});
}

TEST(EvalBaselines, StyledKindsNeedTheStyledSet) {
  const FeatureSet test_set = styled_set(3, 60, 4);
  train::EvalOptions e;
  e.seeds = {1};
  e.clients = {train::parse_client_kind("style", {})};
  e.train.heads = 1;  // the report names the modules' shape even when none runs: 3-wide features
  e.ns = {0, 4};
  e.episodes = 20;
  e.skip = {"t3a", "ff", "B-full", "B-causal", "T-full", "T-causal"};
  e.verbose = false;
  test::expect_error([&] { train::evaluate(nullptr, "", test_set, "t.st", e); }, ErrorCode::kInvalidArgument,
                     {"clients style", "--styled"});
  const train::EvalResult r = train::evaluate(nullptr, "", test_set, "t.st", e, &test_set, "s.st");
  EXPECT_EQ(r.per_clients[0].clients, "style");
  // These logits are always right.
  for (const auto& m : r.per_clients[0].methods) EXPECT_EQ(m.accuracy[0][1], 1.0) << m.method;
  // "Views told" is reported for repeats clients only (elsewhere it is the backbone).
  auto has_views = [](const train::ClientResult& c) {
    return std::any_of(c.methods.begin(), c.methods.end(), [](const auto& m) { return m.method == "oracle-views"; });
  };
  EXPECT_FALSE(has_views(r.per_clients[0]));
  e.clients = {train::parse_client_kind("repeats", {})};
  const train::EvalResult rr = train::evaluate(nullptr, "", test_set, "t.st", e, &test_set, "s.st");
  EXPECT_TRUE(has_views(rr.per_clients[0]));
}

TEST(EvalBaselines, ViewsToldPoolsTheTargetsOtherViews) {
  // 3 objects (sources 100-102, labels 0, 1, 0) under 3 styles; style 0's
  // views are confidently wrong, the others confidently right.
  FeatureSet set = styled_set(2, 3, 3);
  for (int64_t r = 0; r < set.count; ++r)
    if (set.styles[static_cast<size_t>(r)] == 0) std::swap(set.logits[r * 2], set.logits[r * 2 + 1]);
  auto row = [&](int style, int object) { return static_cast<int64_t>(style * 3 + object); };
  train::Episodes e;
  e.clients = "repeats(3-3)";
  e.n_max = 3;
  e.count = 1;
  e.classes = {{0, 1}};
  // The target: object 0 under the wrong style 0; before it, object 0 under
  // styles 1 and 2 and object 1 under style 1.
  e.images = {row(1, 0), row(1, 1), row(2, 0), row(0, 0)};
  EXPECT_EQ(train::backbone_accuracy(set, e, false), 0.0);
  // n = 0: the target alone; n = 3: its two right views outvote it.
  EXPECT_EQ(train::views_accuracy(set, e, {0, 3}), (std::vector<double>{0.0, 1.0}));
  // Another object of the target's class does not count, however right its views.
  e.images = {row(1, 2), row(2, 2), row(1, 1), row(0, 0)};
  EXPECT_EQ(train::views_accuracy(set, e, {0, 3}), (std::vector<double>{0.0, 0.0}));
  // A set without sources has no views to pool: the backbone's answer.
  e.images = {row(1, 0), row(1, 1), row(2, 0), row(0, 0)};
  set.sources.clear();
  set.styles.clear();
  EXPECT_EQ(train::views_accuracy(set, e, {0, 3}), (std::vector<double>{0.0, 0.0}));
}

TEST(TrainingMixture, ParsesKindsAndWeights) {
  const train::ClassGroups groups = {{0, 1}, {2}};
  const auto mix = train::parse_mix("k=1-6:3, groups, style:0.5,mixed :2", groups);
  ASSERT_EQ(mix.size(), 4u);
  EXPECT_EQ(train::describe_mix(mix), "k=1-6:3, groups(2):1, style:0.5, style+k=2:2");
  test::expect_error([&] { train::parse_mix("k=2:0", groups); }, ErrorCode::kInvalidArgument,
                     {"k=2:0", "positive number"});
  test::expect_error([&] { train::parse_mix("k=2:x", groups); }, ErrorCode::kInvalidArgument, {"'x'"});
  test::expect_error([&] { train::parse_mix("k=2,,style", groups); }, ErrorCode::kInvalidArgument, {"empty item"});
  test::expect_error([&] { train::parse_mix("groups", {}); }, ErrorCode::kInvalidArgument, {"--groups"});
}

// A one-layer, one-head module on 9-image sequences, trained `steps` steps quietly.
train::TrainOptions tiny_training(int64_t steps) {
  train::TrainOptions o;
  o.seq_len = 9;
  o.layers = 1;
  o.heads = 1;
  o.steps = steps;
  o.label.clear();
  return o;
}

TEST(TrainingMixture, StyledKindsNeedTheStyledTrainingSet) {
  const FeatureSet clean = test::ring_features(4, 40, 8, 0.3, 3);
  train::TrainOptions o = tiny_training(2);
  o.mix = train::parse_mix("k=2,style", {});
  test::expect_error([&] { train::train_iciia(clean, "clean", o); }, ErrorCode::kInvalidArgument,
                     {"clients style", "--styled"});
  // A styled set of another width is another backbone's.
  const FeatureSet other = styled_set(4, 40, 3);
  test::expect_error([&] { train::train_iciia(clean, "clean", o, &other, "other"); }, ErrorCode::kInvalidArgument,
                     {"clean and other", "feature widths"});
}

TEST(TrainingMixture, OneKindTrainsAsWithoutAMixtureAndStyledKindsChangeTheModule) {
  // A styled version of the ring: the clean ring under 3 "styles" that shift
  // every feature, style-major with sources as extract writes them.
  const FeatureSet clean = test::ring_features(4, 60, 8, 0.3, 3);
  FeatureSet styled = clean;
  styled.features.clear();
  styled.labels.clear();
  styled.logits.clear();
  for (int st = 0; st < 3; ++st)
    for (int64_t i = 0; i < clean.count; ++i) {
      for (int64_t j = 0; j < clean.dim; ++j)
        styled.features.push_back(clean.features[static_cast<size_t>(i * clean.dim + j)] + 0.7f * st);
      styled.labels.push_back(clean.labels[static_cast<size_t>(i)]);
      for (int64_t k = 0; k < clean.num_classes; ++k)
        styled.logits.push_back(clean.logits[static_cast<size_t>(i * clean.num_classes + k)]);
      styled.styles.push_back(st);
      styled.sources.push_back(static_cast<int32_t>(i));
    }
  styled.count = 3 * clean.count;
  train::TrainOptions o = tiny_training(20);
  o.clients = ClientSpec{2, 2, {}};
  const auto plain = train::train_iciia(clean, "clean", o).net.named_tensors();
  train::TrainOptions one = o;
  one.mix = {{ClientSpec{2, 2, {}}, 5}};
  const auto mixed_one = train::train_iciia(clean, "clean", one, &styled, "styled").net.named_tensors();
  train::TrainOptions several = o;
  several.mix = train::parse_mix("k=2:1,style:1,repeats:1", {});
  const auto mixed = train::train_iciia(clean, "clean", several, &styled, "styled").net.named_tensors();
  const auto again = train::train_iciia(clean, "clean", several, &styled, "styled").net.named_tensors();
  ASSERT_EQ(plain.size(), mixed.size());
  bool differs = false;
  for (size_t t = 0; t < plain.size(); ++t) {
    EXPECT_EQ(plain[t].data, mixed_one[t].data) << plain[t].name;
    EXPECT_EQ(mixed[t].data, again[t].data) << mixed[t].name;
    differs = differs || plain[t].data != mixed[t].data;
  }
  EXPECT_TRUE(differs) << "the styled kinds drew nothing from the styled set";
}

TEST(Report, ChecksTheAdaptationGoals) {
  train::EvalResult r;
  r.ns = {0, 4, 16};
  r.seeds = {1};
  r.episodes = 100;
  auto kind = [](const std::string& name, double bb, std::vector<double> em, std::vector<double> b) {
    train::ClientResult c{name, {}};
    c.methods.push_back({"backbone", {{bb, bb, bb}}, {}, ""});
    c.methods.push_back({"em-ml", {em}, {}, ""});
    c.methods.push_back({"t3a", {{bb, bb, bb + 0.001}}, {}, ""});
    c.methods.push_back({"B-causal", {b}, {}, ""});
    return c;
  };
  // k=2: EM errs 5% at n=16, ICIIA 3% (0.6x). style: backbone 80%, ICIIA
  // 85% (25% cut: missed). repeats: 90% -> 96% (60% cut). groups: ICIIA
  // 0.5 points below the backbone at n=0 (missed) and below T3A at n=16.
  r.per_clients = {kind("k=2", 0.9, {0.9, 0.93, 0.95}, {0.9, 0.95, 0.97}),
                   kind("style", 0.8, {0.8, 0.8, 0.8}, {0.8, 0.82, 0.85}),
                   kind("repeats(3-5)", 0.9, {0.9, 0.9, 0.9}, {0.9, 0.93, 0.96}),
                   kind("groups(3)", 0.9, {0.9, 0.9, 0.9}, {0.895, 0.91, 0.9})};
  std::map<std::string, train::GoalCheck> goals;
  for (const auto& g : train::check_goals(r)) goals[g.goal] = g;
  const auto& never = goals.at("ICIIA-B causal: never more than 0.3 points below the backbone (every kind and n)");
  EXPECT_FALSE(never.met);
  EXPECT_EQ(never.measured, "worst: -0.50 points at groups(3), n=0");
  const auto& free = goals.at("ICIIA-B causal: at n >= 4, at least the best training-free baseline (every kind)");
  EXPECT_FALSE(free.met);
  EXPECT_EQ(free.measured, "worst: -0.10 points at groups(3), n=16 against T3A");
  const auto& em = goals.at("ICIIA-B causal, k=2, n=16: error <= 0.7x the better EM prior correction's");
  EXPECT_TRUE(em.met);
  EXPECT_EQ(em.measured, "error 3.00% vs EM 5.00% (0.60x)");
  EXPECT_FALSE(goals.at("ICIIA-B causal, style, n=16: cuts the backbone's error by >= 30%").met);
  EXPECT_EQ(goals.at("ICIIA-B causal, style, n=16: cuts the backbone's error by >= 30%").measured,
            "error 20.00% -> 15.00%, cut 25.0%");
  EXPECT_TRUE(goals.at("ICIIA-B causal, repeats(3-5), n=16: cuts the backbone's error by >= 50%").met);
}

#else
TEST(AdaptationEval, SkippedWithoutLibtorch) { GTEST_SKIP() << "built without libtorch: no training code to test"; }
#endif

}  // namespace
}  // namespace iciia
