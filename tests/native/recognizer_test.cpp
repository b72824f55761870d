#include "pipeline/recognizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "../models/test_bundle.h"
#include "adapt/prior_correction.h"
#include "adapt/shift_gate.h"
#include "store/crc32.h"
#include "store/memory_backend.h"
#include "history_v1_record.h"
#include "test_support.h"

namespace iciia {
namespace {

using test_models::TestBundleOptions;

struct Bundle {
  std::vector<uint8_t> backbone, iciia;
  BundleManifest manifest;
  explicit Bundle(const TestBundleOptions& o = {})
      : backbone(test_models::test_bundle_backbone(o)), iciia(test_models::test_bundle_iciia(o)),
        manifest(test_models::test_bundle_manifest(o, backbone, iciia)) {}
};

std::vector<uint8_t> image(int w, int h, int c, uint32_t seed) {
  std::vector<uint8_t> px(size_t(w) * h * c);
  uint32_t s = seed * 747796405u + 1;
  for (auto& p : px) {
    s = s * 1664525u + 1013904223u;
    p = uint8_t(s >> 24);
  }
  return px;
}

Recognition recognize(Recognizer& r, const Analysis& a, bool remember = true, int top_k = 3) {
  std::optional<Recognition> out;
  r.recognize(a, {.remember = remember, .top_k = top_k, .timestamp_ms = 5}, [&](StoreStatus st, Recognition rec) {
    ASSERT_TRUE(st.ok()) << st.message;
    out = std::move(rec);
  });
  EXPECT_TRUE(out.has_value());
  return out.value_or(Recognition{});
}

std::shared_ptr<MemoryBackend> memory(std::shared_ptr<MemoryDatabase> db = std::make_shared<MemoryDatabase>(),
                                      const std::string& client = "u") {
  return std::make_shared<MemoryBackend>(std::move(db), client);
}

// The modes' own arithmetic, with the shift gate off (its tests turn it on).
RecognizerOptions with(Adaptation mode, std::optional<double> alpha = {}) {
  RecognizerOptions o;
  o.adaptation = mode;
  o.prior_alpha = alpha;
  o.shift_level = 0;
  return o;
}
RecognizerOptions gate_at(double level) {
  RecognizerOptions o;
  o.shift_level = level;
  return o;
}
const RecognizerOptions kUngated = gate_at(0);

Analysis analyze_image(Recognizer& r, uint32_t seed) {
  const auto px = image(16, 16, 3, seed);
  return r.analyze({px.data(), 16, 16, 3});
}

std::vector<float> softmax(std::span<const float> logits) {
  std::vector<float> p(logits.begin(), logits.end());
  float mx = *std::max_element(p.begin(), p.end());
  double z = 0;
  for (float& v : p) z += std::exp(double(v) - mx);
  for (float& v : p) v = float(std::exp(double(v) - mx) / z);
  return p;
}

TEST(Bundle, ManifestRoundTripsAndFieldsAreChecked) {
  Bundle b;
  const std::string json = manifest_to_json(b.manifest);
  const BundleManifest m = parse_manifest(json);
  EXPECT_EQ(m.labels, b.manifest.labels);
  EXPECT_EQ(m.preprocess.height, 16);
  EXPECT_EQ(m.history_capacity, 8);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = json;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  test::expect_error([&] { parse_manifest(with("\"channels\": 3", "\"channels\": 2")); }, ErrorCode::kFormat,
                     {"backbone.preprocess.channels"});
  test::expect_error([&] { parse_manifest(with("\"features\": \"features\",", "")); }, ErrorCode::kFormat,
                     {"backbone.features", "missing"});
  test::expect_error([&] { parse_manifest(with("\"file\": \"backbone.onnx\"", "\"file\": \"../x.onnx\"")); },
                     ErrorCode::kFormat, {"backbone.file", "relative"});
  test::expect_error([&] { parse_manifest(with("iciia-bundle/1", "iciia-bundle/9")); }, ErrorCode::kUnsupported,
                     {"iciia-bundle/9"});
  test::expect_error([&] { parse_manifest(with("\"capacity\": 8", "\"capacity\": 0")); }, ErrorCode::kFormat,
                     {"history.capacity"});
  test::expect_error([&] { parse_manifest("{\"format\": "); }, ErrorCode::kFormat, {"not valid JSON"});
  test::expect_error([&] { parse_manifest(with("0.25,", "\"x\",")); }, ErrorCode::kFormat,
                     {"backbone.preprocess.std[0]", "number"});
}

TEST(Bundle, BackboneOnlyBundlesAdaptByPriorCorrection) {
  Bundle b;
  BundleManifest m = b.manifest;
  EXPECT_EQ(m.default_adaptation(), Adaptation::kIciia);
  m.iciia.reset();
  EXPECT_EQ(m.default_adaptation(), Adaptation::kPrior);
  const std::string json = manifest_to_json(m);
  EXPECT_EQ(json.find("\"iciia\":"), std::string::npos) << json;
  EXPECT_NE(json.find("\"default\": \"prior\""), std::string::npos) << json;
  const BundleManifest back = parse_manifest(json);
  EXPECT_FALSE(back.iciia.has_value());
  EXPECT_EQ(back.default_adaptation(), Adaptation::kPrior);
  // Its fingerprint covers the backbone alone, and differs from the full bundle's.
  const Fingerprint f = verify_bundle(back, b.backbone, {});
  EXPECT_NE(f, verify_bundle(b.manifest, b.backbone, b.iciia));
  test::expect_error([&] { verify_bundle(back, b.backbone, b.iciia); }, ErrorCode::kInvalidArgument,
                     {"manifest names none"});
  // 'iciia' as the default needs the weights, in the reader and the writer.
  std::string wants = json;
  wants.replace(wants.find("\"prior\""), 7, "\"iciia\"");
  test::expect_error([&] { parse_manifest(wants); }, ErrorCode::kFormat, {"adaptation.default", "ICIIA weights"});
  m.adaptation = Adaptation::kIciia;
  test::expect_error([&] { manifest_to_json(m); }, ErrorCode::kInvalidArgument, {"without ICIIA weights"});
  std::string unknown = json;
  unknown.replace(unknown.find("\"prior\""), 7, "\"magic\"");
  test::expect_error([&] { parse_manifest(unknown); }, ErrorCode::kFormat, {"adaptation.default", "'magic'"});
}

TEST(Bundle, SourcePriorIsCheckedAndNormalised) {
  Bundle b;
  BundleManifest m = b.manifest;
  m.source_prior.assign(m.labels.size(), 2.0);
  m.source_prior[0] = 6.0;
  const std::string json = manifest_to_json(m);
  const BundleManifest back = parse_manifest(json);
  ASSERT_EQ(back.source_prior.size(), m.labels.size());
  double sum = 0;
  for (double p : back.source_prior) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_NEAR(back.source_prior[0] / back.source_prior[1], 3.0, 1e-12);
  m.source_prior.pop_back();
  test::expect_error([&] { manifest_to_json(m); }, ErrorCode::kInvalidArgument, {"source_prior"});
  std::string negative = json;
  negative.replace(negative.find("6.0"), 3, "-1.0");
  test::expect_error([&] { parse_manifest(negative); }, ErrorCode::kFormat, {"adaptation.source_prior[0]", ">= 0"});
  std::string shorter = json;
  shorter.replace(shorter.find("6.0,"), 4, "");
  test::expect_error([&] { parse_manifest(shorter); }, ErrorCode::kFormat, {"adaptation.source_prior", "one per label"});
}

TEST(Bundle, Sha256MismatchNamesTheFileAndFingerprintTracksBothFiles) {
  Bundle b;
  const Fingerprint f = verify_bundle(b.manifest, b.backbone, b.iciia);
  auto bad = b.iciia;
  bad[bad.size() / 2] ^= 1;
  test::expect_error([&] { verify_bundle(b.manifest, b.backbone, bad); }, ErrorCode::kFormat,
                     {"iciia.safetensors", "sha256"});
  Bundle other({.seed = 2});
  EXPECT_NE(verify_bundle(other.manifest, other.backbone, other.iciia), f);
}

TEST(Bundle, ModelsThatDoNotFitTogetherAreShapeErrors) {
  Bundle b;
  b.manifest.labels.pop_back();
  test::expect_error(
      [&] { Recognizer(b.manifest, b.backbone, b.iciia, std::make_shared<MemoryBackend>(std::make_shared<MemoryDatabase>(), "u")); },
      ErrorCode::kShape, {"5 classes", "4 labels"});
  Bundle c;
  c.manifest.features = "logits";
  test::expect_error(
      [&] { Recognizer(c.manifest, c.backbone, c.iciia, std::make_shared<MemoryBackend>(std::make_shared<MemoryDatabase>(), "u")); },
      ErrorCode::kShape, {"'logits' has 5 values", "16 features"});
}

// The pipeline's answer equals its parts: baseline = the backbone's logits,
// adapted = IciiaModel::forward over [history..., target] (the paper's
// full recompute), attention = the target's row of it.
TEST(Recognizer, EndToEndEqualsThePartsComposed) {
  Bundle b;
  auto db = std::make_shared<MemoryDatabase>();
  Recognizer r(b.manifest, b.backbone, b.iciia, std::make_shared<MemoryBackend>(db, "u1"), kUngated);
  std::vector<float> seq;  // features of everything remembered so far
  for (int i = 0; i < 11; ++i) {
    const auto px = image(20 + i, 13, i % 2 ? 4 : 3, i);
    const ImageView view{px.data(), 20 + i, 13, i % 2 ? 4 : 3};
    const Analysis a = r.analyze(view);
    ASSERT_EQ(a.features.size(), 16u);
    const Recognition rec = recognize(r, a);

    const int n = std::min<int>(int(seq.size()) / 16, 8);
    std::vector<float> x(seq.end() - n * 16, seq.end());
    x.insert(x.end(), a.features.begin(), a.features.end());
    std::vector<float> logits(size_t(n + 1) * 5);
    std::vector<float> attention;
    r.iciia()->forward(x, n + 1, logits, &attention);
    const std::span<const float> target(logits.data() + n * 5, 5);
    const auto expect_top = top_k(target, 3);
    ASSERT_EQ(rec.top.size(), 3u);
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(rec.top[k].index, expect_top[k].index) << "image " << i;
      EXPECT_NEAR(rec.top[k].score, expect_top[k].score, 1e-5);
    }
    const auto expect_base = top_k(a.logits, 3);
    EXPECT_EQ(rec.baseline[0].index, expect_base[0].index);
    ASSERT_EQ(rec.attention.size(), size_t(n));
    for (int k = 0; k < n; ++k) EXPECT_NEAR(rec.attention[k], attention[k], 1e-5);
    EXPECT_EQ(rec.adaptation, Adaptation::kIciia);
    EXPECT_TRUE(rec.prior.empty());
    EXPECT_EQ(rec.seq, std::optional<uint64_t>(i));
    EXPECT_EQ(rec.history_size, std::min(i + 1, 8));
    EXPECT_EQ(r.history().records().back().logits, a.logits) << "the record keeps the backbone's logits";
    if (n) {
      EXPECT_EQ(rec.attention_seq.back(), uint64_t(i - 1));
      EXPECT_EQ(rec.attention_seq.front(), uint64_t(i - n));
    }
    seq.insert(seq.end(), a.features.begin(), a.features.end());
  }
  // remember: false answers without storing.
  const auto px = image(16, 16, 1, 99);
  const Recognition peek = recognize(r, r.analyze({px.data(), 16, 16, 1}), false);
  EXPECT_FALSE(peek.seq.has_value());
  EXPECT_EQ(peek.history_size, 8);
  EXPECT_EQ(r.history().records().back().seq, 10u);

  // A new recognizer on the same client starts with the same history and
  // gives the same answer.
  Recognizer again(b.manifest, b.backbone, b.iciia, std::make_shared<MemoryBackend>(db, "u1"), kUngated);
  const Recognition peek2 = recognize(again, again.analyze({px.data(), 16, 16, 1}), false);
  EXPECT_EQ(peek2.history_size, 8);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(peek2.top[k].score, peek.top[k].score, 1e-6);
}

TEST(Recognizer, ForeignFeaturesAreCheckedAndTopKIsValidated) {
  Bundle b;
  Recognizer r(b.manifest, b.backbone, b.iciia, std::make_shared<MemoryBackend>(std::make_shared<MemoryDatabase>(), "u"));
  test::expect_error([&] { r.from_features(std::vector<float>(15), std::vector<float>(5)); }, ErrorCode::kInvalidArgument,
                     {"16 features, got 15"});
  std::vector<float> f(16, 0.f);
  f[3] = NAN;
  test::expect_error([&] { r.from_features(f, std::vector<float>(5)); }, ErrorCode::kInvalidArgument, {"features[3]"});
  test::expect_error([&] { r.recognize(r.from_features(std::vector<float>(16), std::vector<float>(5)), {.top_k = 0}, {}); },
                     ErrorCode::kInvalidArgument, {"topK"});
}

// Prior correction in the recognizer equals estimate_prior and
// correct_posterior applied to its parts: the softmax of the backbone's
// logits of the history (the last `capacity` remembered images) and of the
// target, warm-started from the previous estimate as docs/design.md,
// "Adaptation" says; and it lands within EM's tolerance of a cold start.
TEST(Recognizer, PriorModeEqualsPriorCorrectionOfItsParts) {
  Bundle b;
  b.manifest.source_prior = {0.1, 0.3, 0.2, 0.25, 0.15};
  Recognizer r(b.manifest, b.backbone, b.iciia, memory(), with(Adaptation::kPrior, 0.5));
  EXPECT_EQ(r.adaptation(), Adaptation::kPrior);
  std::vector<std::vector<float>> history;  // posteriors of everything remembered
  std::vector<double> previous;
  int warm_steps = 0, cold_steps = 0;
  for (int i = 0; i < 12; ++i) {
    const Analysis a = analyze_image(r, 100 + i);
    const Recognition rec = recognize(r, a, /*remember=*/i % 4 != 3, 5);
    ASSERT_EQ(rec.adaptation, Adaptation::kPrior);
    EXPECT_TRUE(rec.attention.empty());

    const int n = std::min<int>(int(history.size()), 8);
    std::vector<float> probs;
    for (size_t k = history.size() - n; k < history.size(); ++k) probs.insert(probs.end(), history[k].begin(), history[k].end());
    const std::vector<float> target = softmax(a.logits);
    probs.insert(probs.end(), target.begin(), target.end());
    std::vector<double> start;
    for (size_t y = 0; y < previous.size(); ++y) start.push_back(0.999 * previous[y] + 0.001 * b.manifest.source_prior[y]);
    const adapt::PriorResult est = adapt::estimate_prior(
        probs, 5, b.manifest.source_prior, {.alpha = 0.5, .max_iterations = kPriorStepsPerQuery}, start);
    std::vector<float> corrected(5);
    adapt::correct_posterior(target, est.prior, b.manifest.source_prior, corrected);

    ASSERT_EQ(rec.prior.size(), 5u);
    for (int y = 0; y < 5; ++y) EXPECT_NEAR(rec.prior[y], est.prior[y], 1e-6) << "image " << i << " class " << y;
    EXPECT_EQ(rec.prior_iterations, est.iterations);
    ASSERT_EQ(rec.top.size(), 5u);
    for (int k = 0; k < 5; ++k) {
      EXPECT_NEAR(rec.top[k].score, corrected[rec.top[k].index], 1e-6);
      if (k) {
        EXPECT_GE(rec.top[k - 1].score, rec.top[k].score);
      }
    }
    const adapt::PriorResult cold = adapt::estimate_prior(probs, 5, b.manifest.source_prior, {.alpha = 0.5});
    for (int y = 0; y < 5; ++y) EXPECT_NEAR(rec.prior[y], cold.prior[y], 1e-4) << "image " << i;
    warm_steps += est.iterations;
    cold_steps += cold.iterations;
    // The baseline is the backbone's own, whatever the mode.
    EXPECT_EQ(rec.baseline[0].index, top_k(a.logits, 1)[0].index);
    previous = est.prior;
    if (i % 4 != 3) history.push_back(target);
  }
  EXPECT_LT(warm_steps, cold_steps) << "the warm start saves EM steps";
}

TEST(Recognizer, BackboneOnlyBundleAdaptsByPriorCorrectionAndRefusesIciia) {
  Bundle b;
  BundleManifest m = b.manifest;
  m.iciia.reset();
  auto db = std::make_shared<MemoryDatabase>();
  Recognizer r(m, b.backbone, {}, memory(db), kUngated);
  EXPECT_FALSE(r.has_iciia());
  EXPECT_EQ(r.adaptation(), Adaptation::kPrior);
  EXPECT_EQ(r.adaptations(), (std::vector<Adaptation>{Adaptation::kPrior, Adaptation::kNone}));
  EXPECT_EQ(r.feature_dim(), 16);
  test::expect_error([&] { r.set_adaptation(Adaptation::kIciia); }, ErrorCode::kInvalidArgument,
                     {"'iciia' needs ICIIA weights", "available: prior, none"});
  EXPECT_EQ(r.adaptation(), Adaptation::kPrior);
  test::expect_error([&] { Recognizer(m, b.backbone, {}, memory(), with(Adaptation::kIciia)); },
                     ErrorCode::kInvalidArgument, {"needs ICIIA weights"});
  Recognition last;
  for (int i = 0; i < 5; ++i) last = recognize(r, analyze_image(r, i));
  EXPECT_EQ(last.adaptation, Adaptation::kPrior);
  EXPECT_EQ(last.history_size, 5);
  r.set_adaptation(Adaptation::kNone);
  const Analysis a = analyze_image(r, 9);
  const Recognition none = recognize(r, a, false);
  EXPECT_EQ(none.adaptation, Adaptation::kNone);
  for (size_t k = 0; k < none.top.size(); ++k) {
    EXPECT_EQ(none.top[k].index, none.baseline[k].index);
    EXPECT_EQ(none.top[k].score, none.baseline[k].score);
  }
  // Records are tagged by the backbone: the full bundle (same backbone)
  // reads this history, and so does one with another ICIIA module.
  Recognizer full(b.manifest, b.backbone, b.iciia, memory(db), kUngated);
  EXPECT_EQ(recognize(full, a, false).attention.size(), 5u);
  const auto other_iciia = test_models::test_bundle_iciia({.seed = 3});
  Recognizer retrained(test_models::test_bundle_manifest({}, b.backbone, other_iciia), b.backbone, other_iciia, memory(db),
                       kUngated);
  EXPECT_NE(retrained.fingerprint(), full.fingerprint());
  EXPECT_EQ(recognize(retrained, a, false).attention.size(), 5u);
  // Another backbone does not.
  Bundle c({.seed = 2});
  Recognizer stranger(c.manifest, c.backbone, c.iciia, memory(db), kUngated);
  EXPECT_EQ(recognize(stranger, analyze_image(stranger, 1), false).attention.size(), 0u);
}

// Records of the previous release (version 1: features only, the bundle's
// fingerprint) stay readable: ICIIA attends over them; prior correction
// leaves them out, with one warning.
TEST(Recognizer, Version1RecordsFeedIciiaAndArePassedOverByPriorCorrection) {
  Bundle b;
  auto db = std::make_shared<MemoryDatabase>();
  std::vector<float> seq;
  {
    Recognizer scratch(b.manifest, b.backbone, b.iciia, memory());
    for (int i = 0; i < 3; ++i) {
      const Analysis a = analyze_image(scratch, 40 + i);
      db->entries[{"u", i}] = test::v1_record(uint64_t(i), 0.0, a.features, scratch.fingerprint());
      seq.insert(seq.end(), a.features.begin(), a.features.end());
    }
  }
  std::vector<std::string> warnings;
  Recognizer r(b.manifest, b.backbone, b.iciia, memory(db), kUngated,
               [&](const std::string& w) { warnings.push_back(w); });
  const Analysis a = analyze_image(r, 7);
  const Recognition rec = recognize(r, a);
  ASSERT_EQ(rec.attention_seq, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(rec.seq, std::optional<uint64_t>(3));
  std::vector<float> x = seq;
  x.insert(x.end(), a.features.begin(), a.features.end());
  std::vector<float> logits(4 * 5);
  r.iciia()->forward(x, 4, logits, nullptr);
  const auto expect = top_k(std::span<const float>(logits).subspan(15, 5), 3);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(rec.top[k].score, expect[k].score, 1e-5);
  EXPECT_TRUE(warnings.empty()) << warnings[0];

  r.set_adaptation(Adaptation::kPrior);
  const Analysis t = analyze_image(r, 8);
  const Recognition p = recognize(r, t, false);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("3 history record(s) of format version 1 hold no backbone logits"), std::string::npos)
      << warnings[0];
  // Over the one record with logits (the image remembered above) and the target.
  std::vector<float> probs = softmax(a.logits);
  const std::vector<float> target = softmax(t.logits);
  probs.insert(probs.end(), target.begin(), target.end());
  EXPECT_DOUBLE_EQ(r.prior_alpha(), 0.3 / 5) << "the default: 0.3 pseudo-images over the classes";
  const adapt::PriorResult est =
      adapt::estimate_prior(probs, 5, {}, {.alpha = r.prior_alpha(), .max_iterations = kPriorStepsPerQuery});
  for (int y = 0; y < 5; ++y) EXPECT_NEAR(p.prior[y], est.prior[y], 1e-6);
  recognize(r, t, false);
  EXPECT_EQ(warnings.size(), 1u) << "warned once";
}

// Switching modes at run time: each answer is the one its mode computes
// over the same history, including rows remembered while ICIIA was off.
TEST(Recognizer, SwitchingModesKeepsEveryModeExact) {
  Bundle b;
  Recognizer r(b.manifest, b.backbone, b.iciia, memory(), kUngated);
  EXPECT_EQ(r.adaptations().size(), 3u);
  std::vector<float> seq;
  const Adaptation modes[] = {Adaptation::kIciia, Adaptation::kPrior, Adaptation::kNone, Adaptation::kPrior};
  for (int i = 0; i < 14; ++i) {
    r.set_adaptation(modes[i % 4]);
    const Analysis a = analyze_image(r, 200 + i);
    const Recognition rec = recognize(r, a);
    EXPECT_EQ(rec.adaptation, modes[i % 4]);
    seq.insert(seq.end(), a.features.begin(), a.features.end());
  }
  r.set_adaptation(Adaptation::kIciia);
  const Analysis a = analyze_image(r, 999);
  const Recognition rec = recognize(r, a, false);
  std::vector<float> x(seq.end() - 8 * 16, seq.end());
  x.insert(x.end(), a.features.begin(), a.features.end());
  std::vector<float> logits(9 * 5);
  r.iciia()->forward(x, 9, logits, nullptr);
  const auto expect = top_k(std::span<const float>(logits).subspan(40, 5), 3);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(rec.top[k].index, expect[k].index);
    EXPECT_NEAR(rec.top[k].score, expect[k].score, 1e-5);
  }
}

// Confident backbone logits for class y (the gate reads the posteriors).
Analysis of_class(Recognizer& r, int y, uint32_t seed) {
  Analysis a = analyze_image(r, seed);
  std::fill(a.logits.begin(), a.logits.end(), 0.f);
  a.logits[size_t(y)] = 4.f;
  return r.from_features(a.features, a.logits);
}

// The shift gate (adapt/shift_gate.h): a client whose images span the
// classes gets the backbone's answer; one that keeps showing one class gets
// ICIIA's once G passes the χ² threshold, and that answer is exactly the
// module's over the whole history, including the rows remembered while the
// gate held (the session kept up).
TEST(Recognizer, ShiftGateAdaptsOnlyOnceTheHistoryShowsAShift) {
  Bundle b;
  Recognizer r(b.manifest, b.backbone, b.iciia, memory());
  EXPECT_DOUBLE_EQ(r.shift_level(), adapt::kDefaultShiftLevel);
  const double threshold = adapt::chi_square_quantile(4, adapt::kDefaultShiftLevel);
  // Every class in turn: no shift, the backbone answers, G stays low.
  for (int i = 0; i < 8; ++i) {
    const Recognition rec = recognize(r, of_class(r, i % 5, 300 + i));
    EXPECT_EQ(rec.adaptation, Adaptation::kNone) << "image " << i;
    EXPECT_DOUBLE_EQ(rec.shift_threshold, threshold);
    EXPECT_LT(rec.shift_statistic, threshold);
    EXPECT_TRUE(rec.attention.empty());
    for (size_t k = 0; k < rec.top.size(); ++k) EXPECT_EQ(rec.top[k].index, rec.baseline[k].index);
  }
  // Class 2 again and again: the window (capacity 8) fills with it and the
  // gate opens; G against a cold maximum-likelihood EM over the same rows.
  int opened_at = -1;
  for (int i = 0; i < 10; ++i) {
    const Analysis a = of_class(r, 2, 400 + i);
    std::vector<float> probs;
    for (const HistoryRecord& rec : r.history().records()) {
      const auto p = softmax(rec.logits);
      probs.insert(probs.end(), p.begin(), p.end());
    }
    const auto t = softmax(a.logits);
    probs.insert(probs.end(), t.begin(), t.end());
    const double cold = adapt::shift_statistic(probs, 5, adapt::estimate_prior(probs, 5, {}, {}).prior, {});
    const Recognition rec = recognize(r, a);
    EXPECT_LE(rec.shift_statistic, cold + 1e-6) << "capped EM steps can only understate G";
    EXPECT_GE(rec.shift_statistic, 0.9 * cold - 1e-6);
    if (rec.adaptation == Adaptation::kIciia && opened_at < 0) opened_at = i;
    if (opened_at >= 0) {
      EXPECT_EQ(rec.adaptation, Adaptation::kIciia) << "image " << i;
      EXPECT_GT(rec.shift_statistic, threshold);
    } else {
      EXPECT_LE(rec.shift_statistic, threshold);
    }
  }
  ASSERT_GE(opened_at, 1) << "one more image of class 2 is not yet a shift";
  ASSERT_LE(opened_at, 6);
  const Analysis a = of_class(r, 2, 999);
  const Recognition rec = recognize(r, a, false);
  ASSERT_EQ(rec.adaptation, Adaptation::kIciia);
  std::vector<float> x;
  for (const HistoryRecord& h : r.history().records()) x.insert(x.end(), h.features.begin(), h.features.end());
  x.insert(x.end(), a.features.begin(), a.features.end());
  std::vector<float> logits(9 * 5), attention;
  r.iciia()->forward(x, 9, logits, &attention);
  const auto expect = top_k(std::span<const float>(logits).subspan(40, 5), 3);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(rec.top[k].score, expect[k].score, 1e-5);
  ASSERT_EQ(rec.attention.size(), 8u);
  for (int k = 0; k < 8; ++k) EXPECT_NEAR(rec.attention[k], attention[k], 1e-5);
  // Prior correction behind the same gate; none is never gated.
  r.set_adaptation(Adaptation::kPrior);
  EXPECT_EQ(recognize(r, of_class(r, 2, 1000), false).adaptation, Adaptation::kPrior);
  r.set_adaptation(Adaptation::kNone);
  const Recognition none = recognize(r, of_class(r, 2, 1001), false);
  EXPECT_EQ(none.shift_threshold, 0);
  // A level outside [0, 1) is refused; 0 turns the gate off.
  test::expect_error([&] { Recognizer(b.manifest, b.backbone, b.iciia, memory(), gate_at(1.0)); },
                     ErrorCode::kInvalidArgument, {"shift gate", "(0, 1)"});
  Recognizer off(b.manifest, b.backbone, b.iciia, memory(), kUngated);
  const Recognition always = recognize(off, of_class(off, 0, 5));
  EXPECT_EQ(always.adaptation, Adaptation::kIciia);
  EXPECT_EQ(always.shift_threshold, 0);
}

// The answer comes before the commit; a failed commit reports after it and
// takes the record out of the history again.
TEST(Recognizer, AnswersBeforeTheCommitAndAFailedCommitRemovesTheRecord) {
  Bundle b;
  auto db = std::make_shared<MemoryDatabase>();
  auto backend = std::make_shared<MemoryBackend>(db, "u", /*deferred=*/true);
  Recognizer r(b.manifest, b.backbone, b.iciia, backend);
  std::vector<std::string> events;
  auto run = [&](uint32_t seed) {
    r.recognize(analyze_image(r, seed), {},
                [&](StoreStatus st, Recognition rec) {
                  size_t durable = 0;
                  for (auto& [k, v] : db->entries) durable += k.second >= 0;
                  events.push_back("answer " + std::to_string(rec.seq.value_or(99)) + " size " +
                                   std::to_string(rec.history_size) + " durable " + std::to_string(durable) +
                                   (st.ok() ? "" : " " + st.message));
                },
                [&](StoreStatus st) { events.push_back(st.ok() ? "stored" : "failed"); });
  };
  run(1);
  backend->run_pending();
  EXPECT_EQ(events, (std::vector<std::string>{"answer 0 size 1 durable 0", "stored"}));
  // Holding the lock (exclusive), the history in memory is current: the
  // answer comes at once, before any storage operation ran.
  r.history().set_exclusive(true);
  events.clear();
  run(2);
  EXPECT_EQ(events, (std::vector<std::string>{"answer 1 size 2 durable 1"}));
  backend->run_pending();
  EXPECT_EQ(events.back(), "stored");
  db->fail_writes_with_quota = 1;
  events.clear();
  run(3);
  backend->run_pending();
  EXPECT_EQ(events, (std::vector<std::string>{"answer 2 size 3 durable 2", "failed"}));
  EXPECT_EQ(r.history().records().size(), 2u);
  // Synchronous backend: still answer first.
  auto db2 = std::make_shared<MemoryDatabase>();
  Recognizer s(b.manifest, b.backbone, b.iciia, memory(db2));
  events.clear();
  s.recognize(analyze_image(s, 1), {}, [&](StoreStatus, Recognition) { events.push_back("answer"); },
              [&](StoreStatus st) { events.push_back(st.ok() ? "stored" : "failed"); });
  EXPECT_EQ(events, (std::vector<std::string>{"answer", "stored"}));
}

TEST(TopK, SoftmaxScoresAndStableTies) {
  const std::vector<float> l = {1, 3, 3, 0};
  const auto t = top_k(l, 10);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].index, 1);
  EXPECT_EQ(t[1].index, 2);
  const double z = std::exp(1) + 2 * std::exp(3) + 1;
  EXPECT_NEAR(t[0].score, std::exp(3) / z, 1e-6);
  EXPECT_NEAR(t[3].score, 1 / z, 1e-6);
}

}  // namespace
}  // namespace iciia
