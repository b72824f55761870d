#include "pipeline/recognizer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "../models/test_bundle.h"
#include "store/memory_backend.h"
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

Recognition recognize(Recognizer& r, const Analysis& a, bool remember = true) {
  std::optional<Recognition> out;
  r.recognize(a, {.remember = remember, .top_k = 3, .timestamp_ms = 5}, [&](StoreStatus st, Recognition rec) {
    ASSERT_TRUE(st.ok()) << st.message;
    out = std::move(rec);
  });
  EXPECT_TRUE(out.has_value());
  return out.value_or(Recognition{});
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
  Recognizer r(b.manifest, b.backbone, b.iciia, std::make_shared<MemoryBackend>(db, "u1"));
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
    r.iciia().forward(x, n + 1, logits, &attention);
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
    EXPECT_EQ(rec.seq, std::optional<uint64_t>(i));
    EXPECT_EQ(rec.history_size, std::min(i + 1, 8));
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
  Recognizer again(b.manifest, b.backbone, b.iciia, std::make_shared<MemoryBackend>(db, "u1"));
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
