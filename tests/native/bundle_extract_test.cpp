// `extract` and `bundle` (no libtorch needed): a hand-checkable backbone
// (global average pool -> features -> logits) over a generated image folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "iciia/config.h"
#include "iciia/model.h"
#include "onnx/onnx_writer.h"
#include "safetensors/safetensors.h"
#include "test_support.h"
#include "train/bundle/bundle.h"
#include "train/data/image_folder.h"
#include "train/data/png_writer.h"
#include "train/extract/extract.h"
#include "train/features_file.h"
#include "util/sha256.h"

namespace iciia::train {
namespace {

namespace fs = std::filesystem;
using data::Image;

PreprocessSpec spec4() {
  PreprocessSpec s;
  s.height = s.width = 4;
  s.channels = 1;
  s.scale = 1.0f / 255.0f;
  s.mean = {0.0f};
  s.std = {0.5f};
  return s;
}

// input [1,1,4,4] -> mean m (of the normalised pixels) -> features [2m + 1, -m]
// -> logits [f0, f1, f0 + f1]. With `metadata`, it carries spec4() and labels.
std::string write_backbone(const std::string& dir, bool metadata = true) {
  using namespace onnx_build;
  OnnxGraph g;
  g.inputs.push_back(value_info("input", OnnxDataType::kFloat, {1, 1, 4, 4}));
  const float wf[] = {2, -1}, bf[] = {1, 0}, wc[] = {1, 0, 0, 1, 1, 1}, bc[] = {0, 0, 0};
  g.initializers = {float_tensor("wf", {2, 1}, wf), float_tensor("bf", {2}, bf), float_tensor("wc", {3, 2}, wc),
                    float_tensor("bc", {3}, bc)};
  g.nodes = {node("GlobalAveragePool", {"input"}, {"gap"}), node("Flatten", {"gap"}, {"flat"}),
             node("Gemm", {"flat", "wf", "bf"}, {"feat"}, {attr_int("transB", 1)}),
             node("Gemm", {"feat", "wc", "bc"}, {"out"}, {attr_int("transB", 1)})};
  g.outputs = {value_info("feat", OnnxDataType::kFloat, {1, 2}), value_info("out", OnnxDataType::kFloat, {1, 3})};
  OnnxModel m = model(std::move(g), 13);
  if (metadata) {
    BackboneInfo info;
    info.features = "feat";
    info.logits = "out";
    info.preprocess = spec4();
    info.labels = {"dark", "mid", "light"};
    m.metadata_props.emplace_back(kBackboneMetadataKey, backbone_metadata(info));
  }
  const std::string path = dir + (metadata ? "/backbone.onnx" : "/plain.onnx");
  const auto bytes = write_onnx(m);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return path;
}

// ICIIA-B weights for d = 2, C = 3 (values irrelevant here, shapes checked).
std::string write_iciia(const std::string& dir, int dim, int classes) {
  IciiaConfig c;
  c.dim = dim;
  c.num_classes = classes;
  c.num_heads = 1;
  SafetensorsWriter w;
  for (const auto& [k, v] : c.to_metadata()) w.set_metadata(k, v);
  uint32_t seed = 1;
  for (const auto& t : IciiaModel::expected_tensors(c)) {
    int64_t n = 1;
    for (int64_t s : t.shape) n *= s;
    w.add_f32(t.name, t.shape, test::random_floats(static_cast<size_t>(n), seed++));
  }
  const std::string path = dir + "/iciia_" + std::to_string(dim) + "_" + std::to_string(classes) + ".safetensors";
  w.write_file(path);
  return path;
}

Image solid(int w, int h, uint8_t v) { return Image{w, h, 1, std::vector<uint8_t>(size_t(w) * h, v)}; }

// DIR/{dark,mid,light}/k.png, class c's k-th image solid at 40 * c + k.
std::string write_images(const std::string& dir, int per_class) {
  const char* names[] = {"dark", "mid", "light"};
  for (int c = 0; c < 3; ++c) {
    fs::create_directories(dir + "/images/" + names[c]);
    for (int k = 0; k < per_class; ++k)
      data::write_png(solid(4, 4, static_cast<uint8_t>(40 * c + k)),
                      dir + "/images/" + names[c] + "/" + std::to_string(k) + ".png");
  }
  return dir + "/images";
}

TEST(Extract, RunsTheCoreEngineWithTheModelsOwnPreprocessing) {
  const std::string dir = test::temp_dir();
  ExtractOptions o;
  o.model = write_backbone(dir);
  o.data = "images:" + write_images(dir, 2);
  const FeatureSet s = extract_features(o);
  ASSERT_EQ(s.count, 6);
  EXPECT_EQ(s.dim, 2);
  EXPECT_EQ(s.num_classes, 3);
  EXPECT_EQ(s.class_names, (std::vector<std::string>{"dark", "mid", "light"}));  // the model's order, not sorted
  EXPECT_EQ(s.labels, (std::vector<int32_t>{0, 0, 2, 2, 1, 1}));                 // folders in name order
  EXPECT_EQ(s.backbone_sha256, sha256_hex(test::read_bytes(o.model)));
  EXPECT_EQ(s.source, "images:" + dir + "/images");
  for (int64_t i = 0; i < s.count; ++i) {
    const int k = static_cast<int>(i % 2), c = s.labels[i];
    const float m = (40.0f * c + k) / 255.0f / 0.5f;
    EXPECT_NEAR(s.features[2 * i], 2 * m + 1, 1e-5) << i;
    EXPECT_NEAR(s.features[2 * i + 1], -m, 1e-5) << i;
    EXPECT_NEAR(s.logits[3 * i + 2], m + 1, 1e-5) << i;
  }
}

TEST(Extract, PreprocessingComesFromOptionsOrBundleOrNowhere) {
  const std::string dir = test::temp_dir();
  ExtractOptions o;
  o.model = write_backbone(dir, /*metadata=*/false);
  o.data = "images:" + write_images(dir, 1);
  test::expect_error([&] { extract_features(o); }, ErrorCode::kInvalidArgument, {"plain.onnx", "--preprocess"});
  test::expect_error([] { parse_preprocess(R"({"size":[4],"channels":1})", "--preprocess"); }, ErrorCode::kFormat,
                     {"--preprocess", "preprocess.size", "[height, width]"});
  test::expect_error(
      [] { parse_preprocess(R"({"size":[4,4],"channels":2,"mean":[0],"std":[1],"scale":1})", "--preprocess"); },
      ErrorCode::kFormat, {"preprocess.channels", "1 or 3"});
}

TEST(Extract, APlainModelsFeaturesAreTheInputOfItsLastGemm) {
  // No metadata: the tensor names come from the classifier head ("feat" is a
  // graph output too, but the last Gemm consumes it), the labels from the
  // folders (sorted), the preprocessing from the option.
  const std::string dir = test::temp_dir();
  ExtractOptions o;
  o.model = write_backbone(dir, /*metadata=*/false);
  o.data = "images:" + write_images(dir, 2);
  o.flags.preprocess = R"({"size":[4,4],"channels":1,"mean":[0],"std":[0.5],"scale":0.00392156862745098})";
  const FeatureSet s = extract_features(o);
  ASSERT_EQ(s.count, 6);
  EXPECT_EQ(s.dim, 2);
  EXPECT_EQ(s.class_names, (std::vector<std::string>{"dark", "light", "mid"}));
  for (int64_t i = 0; i < s.count; ++i) {
    const int k = static_cast<int>(i % 2), c = std::vector<int>{0, 2, 1}[s.labels[i]];  // back to write_images' order
    const float m = (40.0f * c + k) / 255.0f / 0.5f;
    EXPECT_NEAR(s.features[2 * i], 2 * m + 1, 1e-5) << i;
    EXPECT_NEAR(s.features[2 * i + 1], -m, 1e-5) << i;
  }
  // A name the flags give wins, and is checked by the engine.
  o.flags.features = "no-such-value";
  test::expect_error([&] { extract_features(o); }, ErrorCode::kInvalidArgument, {"no-such-value"});
}

TEST(Bundle, ImagenetPreprocessingTakesTheModelsInputSize) {
  using namespace onnx_build;
  OnnxGraph g;
  g.inputs.push_back(value_info("input", OnnxDataType::kFloat, {1, 3, 32, 48}));
  OnnxModel m = model(std::move(g), 13);
  const PreprocessSpec p = preprocess_option("imagenet", m, "--preprocess");
  EXPECT_EQ(p.height, 32);
  EXPECT_EQ(p.width, 48);
  EXPECT_EQ(p.channels, 3);
  EXPECT_EQ(p.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(p.std, (std::vector<float>{0.229f, 0.224f, 0.225f}));
  m.graph.inputs[0] = symbolic_value_info("input", OnnxDataType::kFloat, {{-1, "batch"}, {3, ""}, {-1, "h"}, {-1, "w"}});
  EXPECT_EQ(preprocess_option("imagenet", m, "--preprocess").height, 224);
  test::expect_error([&] { preprocess_option("imagenette", m, "--preprocess"); }, ErrorCode::kFormat,
                     {"--preprocess", "not valid JSON"});
}

TEST(Bundle, WritesManifestWeightsAndBalancedSamples) {
  const std::string dir = test::temp_dir();
  BundleOptions o;
  o.backbone = write_backbone(dir);
  o.iciia = write_iciia(dir, 2, 3);
  o.out = dir + "/bundle";
  o.name = "test bundle";
  o.samples = 7;
  o.data = "images:" + write_images(dir, 4);
  o.capacity = 32;
  const BundleManifest m = write_bundle(o);

  const auto backbone = test::read_bytes(o.backbone), weights = test::read_bytes(o.iciia);
  EXPECT_EQ(test::read_bytes(o.out + "/backbone.onnx"), backbone);
  EXPECT_EQ(test::read_bytes(o.out + "/iciia.safetensors"), weights);
  const BundleManifest back = read_manifest(o.out + "/manifest.json");
  EXPECT_EQ(back.backbone.sha256, sha256_hex(backbone));
  ASSERT_TRUE(back.iciia.has_value());
  EXPECT_EQ(back.iciia->sha256, sha256_hex(weights));
  EXPECT_EQ(back.backbone.sha256, m.backbone.sha256);
  EXPECT_EQ(back.default_adaptation(), Adaptation::kIciia);
  EXPECT_EQ(back.name, "test bundle");
  EXPECT_EQ(back.features, "feat");
  EXPECT_EQ(back.logits, "out");
  EXPECT_EQ(back.input, "input");
  EXPECT_EQ(back.preprocess.std, std::vector<float>{0.5f});
  EXPECT_EQ(back.labels, (std::vector<std::string>{"dark", "mid", "light"}));
  EXPECT_EQ(back.history_capacity, 32);
  EXPECT_EQ(back.samples, "samples/index.json");
  const auto labels_txt = test::read_bytes(o.out + "/labels.txt");
  EXPECT_EQ(std::string(labels_txt.begin(), labels_txt.end()), "dark\nmid\nlight\n");

  // docs/design.md's exact layout, key order included.
  const auto text = test::read_bytes(o.out + "/manifest.json");
  const std::string manifest(text.begin(), text.end());
  EXPECT_NE(manifest.find("\"scale\": 0.003921569\n"), std::string::npos) << manifest;  // shortest float form
  EXPECT_NE(manifest.find("\"std\": [\n        0.5\n      ]"), std::string::npos) << manifest;
  size_t at = 0;
  for (const char* key : {"\"format\": \"iciia-bundle/1\"", "\"name\"", "\"backbone\"", "\"file\": \"backbone.onnx\"",
                          "\"sha256\"", "\"input\"", "\"features\"", "\"logits\"", "\"preprocess\"", "\"size\"",
                          "\"channels\"", "\"mean\"", "\"std\"", "\"scale\"", "\"iciia\"",
                          "\"file\": \"iciia.safetensors\"", "\"adaptation\"", "\"default\": \"iciia\"", "\"labels\"", "\"history\"", "\"capacity\": 32",
                          "\"samples\": \"samples/index.json\""}) {
    const size_t next = manifest.find(key, at);
    ASSERT_NE(next, std::string::npos) << key << " missing or out of order in\n" << manifest;
    at = next;
  }

  // 7 samples from 3 classes of 4: 3 + 2 + 2, each PNG the source image.
  const auto index_bytes = test::read_bytes(o.out + "/samples/index.json");
  const std::string index(index_bytes.begin(), index_bytes.end());
  std::vector<int> per_class(3);
  for (int i = 0; i < 7; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%04d.png", i);
    const std::string entry = std::string("{\"file\": \"") + name + "\", \"label\": ";
    const size_t pos = index.find(entry);
    ASSERT_NE(pos, std::string::npos) << name << " not in\n" << index;
    const int label = index[pos + entry.size()] - '0';
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 3);
    ++per_class[label];
    const Image im = data::decode_image(test::read_bytes(o.out + "/samples/" + name), name);
    ASSERT_EQ(im.width, 4);
    const int k = im.pixels[0] - 40 * label;  // which of the class's images
    EXPECT_TRUE(k >= 0 && k < 4) << name << " pixel " << int(im.pixels[0]) << " is not an image of class " << label;
    EXPECT_EQ(im.pixels, solid(4, 4, im.pixels[0]).pixels);
  }
  std::sort(per_class.begin(), per_class.end());
  EXPECT_EQ(per_class, (std::vector<int>{2, 2, 3}));
  EXPECT_FALSE(fs::exists(o.out + "/samples/0007.png"));

  // Same seed, same draw; another seed, another one.
  BundleOptions again = o;
  again.out = dir + "/again";
  write_bundle(again);
  EXPECT_EQ(test::read_bytes(again.out + "/samples/index.json"), index_bytes);
}

TEST(Bundle, RefusesPiecesThatDoNotFit) {
  const std::string dir = test::temp_dir();
  BundleOptions o;
  o.backbone = write_backbone(dir);
  o.out = dir + "/bundle";
  o.iciia = write_iciia(dir, 3, 3);
  test::expect_error([&] { write_bundle(o); }, ErrorCode::kInvalidArgument, {"'feat' has 2 values", "dim 3"});
  o.iciia = write_iciia(dir, 2, 4);
  test::expect_error([&] { write_bundle(o); }, ErrorCode::kInvalidArgument, {"backbone 'out' 3", "ICIIA 4", "labels 3"});
  o.iciia = write_iciia(dir, 2, 3);
  std::ofstream(dir + "/two.txt") << "dark\nmid\n\n";
  o.labels = dir + "/two.txt";
  test::expect_error([&] { write_bundle(o); }, ErrorCode::kInvalidArgument, {"labels 2"});
  o.labels.clear();
  o.samples = 3;
  o.data = "images:" + dir + "/no-such-folder";
  test::expect_error([&] { write_bundle(o); }, ErrorCode::kIo, {"no-such-folder"});
  o.samples = 0;
  o.backbone = write_backbone(dir, /*metadata=*/false);
  test::expect_error([&] { write_bundle(o); }, ErrorCode::kInvalidArgument, {"plain.onnx", "no preprocessing"});
  EXPECT_FALSE(fs::exists(o.out)) << "nothing is written before the pieces are checked";
}

TEST(Bundle, WithoutIciiaWeightsAdaptsByPriorCorrectionWithTheDatasSourcePrior) {
  const std::string dir = test::temp_dir();
  const std::string images = write_images(dir, 3);
  fs::remove(images + "/light/2.png");  // dark 3, light 2, mid 3
  BundleOptions o;
  o.backbone = write_backbone(dir, /*metadata=*/false);
  o.flags.preprocess = R"({"size":[4,4],"channels":1,"mean":[0],"std":[0.5],"scale":0.00392156862745098})";
  o.out = dir + "/bundle";
  o.data = "images:" + images;
  // A stale weights file from an earlier bundle in the folder goes.
  fs::create_directories(o.out);
  std::ofstream(o.out + "/iciia.safetensors") << "old";
  const BundleManifest m = write_bundle(o);
  EXPECT_FALSE(fs::exists(o.out + "/iciia.safetensors"));

  const BundleManifest back = read_manifest(o.out + "/manifest.json");
  EXPECT_FALSE(back.iciia.has_value());
  EXPECT_EQ(back.default_adaptation(), Adaptation::kPrior);
  EXPECT_EQ(back.features, "feat");
  EXPECT_EQ(back.logits, "out");
  EXPECT_EQ(back.labels, (std::vector<std::string>{"dark", "light", "mid"}));  // the folders, sorted
  ASSERT_EQ(back.source_prior.size(), 3u);
  EXPECT_NEAR(back.source_prior[0], 3.0 / 8, 1e-12);
  EXPECT_NEAR(back.source_prior[1], 2.0 / 8, 1e-12);
  EXPECT_NEAR(back.source_prior[2], 3.0 / 8, 1e-12);
  const auto text = test::read_bytes(o.out + "/manifest.json");
  EXPECT_NE(std::string(text.begin(), text.end()).find("\"default\": \"prior\""), std::string::npos)
      << "the manifest says how it adapts";
  EXPECT_EQ(m.source_prior, back.source_prior);

  // The backbone's mean softmax: logits [f0, f1, f0 + f1] of each image, by hand.
  o.source_prior = SourcePrior::kSoftmax;
  const BundleManifest soft = write_bundle(o);
  std::vector<double> expect(3);
  const data::Dataset set = data::read_image_folder(images);
  for (const auto& im : set.images) {
    const double mean = im.pixels[0] / 255.0 / 0.5, f0 = 2 * mean + 1, f1 = -mean, l[3] = {f0, f1, f0 + f1};
    const double mx = std::max({l[0], l[1], l[2]});
    const double z = std::exp(l[0] - mx) + std::exp(l[1] - mx) + std::exp(l[2] - mx);
    for (int c = 0; c < 3; ++c) expect[c] += std::exp(l[c] - mx) / z / 8;
  }
  ASSERT_EQ(soft.source_prior.size(), 3u);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(soft.source_prior[c], expect[c], 1e-6) << c;

  o.source_prior = SourcePrior::kUniform;
  EXPECT_TRUE(write_bundle(o).source_prior.empty());

  // A class without images has no frequency to divide by.
  fs::remove_all(images + "/mid");
  o.labels = dir + "/three.txt";
  std::ofstream(o.labels) << "dark\nlight\nmid\n";
  o.source_prior = SourcePrior::kFrequencies;
  test::expect_error([&] { write_bundle(o); }, ErrorCode::kInvalidArgument, {"'mid' has no image", "softmax"});
  o.data.clear();
  test::expect_error([&] { write_bundle(o); }, ErrorCode::kInvalidArgument, {"--source-prior", "--data"});
  o.source_prior = SourcePrior::kAuto;
  o.samples = 2;
  test::expect_error([&] { write_bundle(o); }, ErrorCode::kInvalidArgument, {"--samples needs --data"});
}

// A fixture's weights as the paper's code saves a state_dict: the same
// tensors, no __metadata__.
std::vector<uint8_t> bare_state_dict(const Safetensors& file) {
  SafetensorsWriter w;
  for (const TensorInfo& t : file.tensors()) w.add_f32(t.name, t.shape, file.to_f32(t));
  return w.serialize();
}

float max_output_diff(std::span<const uint8_t> weights, const std::string& fixture) {
  const auto model = IciiaModel::load(weights);
  const Safetensors io = Safetensors::read_file(fixture + ".io.safetensors");
  const std::vector<float> in = io.to_f32(io.get("input")), want = io.to_f32(io.get("output"));
  const int S = static_cast<int>(io.get("input").shape[0]);
  std::vector<float> got(want.size());
  model->forward(in, S, got);
  float diff = 0;
  for (size_t i = 0; i < got.size(); ++i) diff = std::max(diff, std::abs(got[i] - want[i]));
  return diff;
}

TEST(Bundle, WeightsOfThePapersCodeWithoutMetadataGetItFromShapesAndFlags) {
  const std::string fixtures = test::source_dir() + "/tests/fixtures/iciia/";
  // Partitioned (g = 4, d = 16, h = 2, L = 1, C = 6, shuffle on) and dense
  // (g = 1, d = 12, h = 3, L = 2, C = 4, causal): read back, they reproduce
  // the fixture's outputs, so every inferred value is right.
  {
    const std::string f = fixtures + "g4_d16_h2_l1_shuffle_full";
    const auto bare = bare_state_dict(Safetensors::read_file(f + ".safetensors"));
    const auto with = weights_with_metadata(bare, 16, {.heads = 2}, "paper.safetensors");
    const IciiaConfig c = IciiaModel::load(with)->config();
    EXPECT_EQ(c.num_partitions, 4);
    EXPECT_EQ(c.num_layers, 1);
    EXPECT_EQ(c.num_classes, 6);
    EXPECT_LT(max_output_diff(with, f), 1e-4f);
    // The shuffle is not in the shapes: the flag decides, and matters.
    const auto unshuffled = weights_with_metadata(bare, 16, {.heads = 2, .shuffle = false}, "paper.safetensors");
    EXPECT_GT(max_output_diff(unshuffled, f), 1e-2f);
    test::expect_error([&] { weights_with_metadata(bare, 16, {.heads = 3}, "paper.safetensors"); }, ErrorCode::kFormat,
                       {"paper.safetensors", "no __metadata__", "h 3"});
  }
  {
    const std::string f = fixtures + "g1_d12_h3_l2_causal";
    const auto bare = bare_state_dict(Safetensors::read_file(f + ".safetensors"));
    const auto with =
        weights_with_metadata(bare, 12, {.heads = 3, .attention = AttentionMode::kCausal}, "paper.safetensors");
    EXPECT_EQ(IciiaModel::load(with)->config().num_layers, 2);
    EXPECT_LT(max_output_diff(with, f), 1e-4f);
  }
  // A file with metadata ships as it is.
  const auto own = test::read_bytes(fixtures + "g1_d16_h4_l1_full.safetensors");
  EXPECT_EQ(weights_with_metadata(own, 99, {}, "own.safetensors"), own);
  // Anything else is not the paper's module.
  SafetensorsWriter other;
  other.add_f32("fc.weight", {2, 2}, std::vector<float>(4, 1.0f));
  test::expect_error([&] { weights_with_metadata(other.serialize(), 2, {}, "other.safetensors"); }, ErrorCode::kFormat,
                     {"other.safetensors", "not a state_dict"});
}

TEST(Bundle, PickBalancedIsEvenAndSeeded) {
  std::vector<int32_t> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i % 10 == 0 ? 9 : i % 3);  // classes 0-2 common, 9 rare (10)
  const auto a = pick_balanced(labels, 10, 20, 5);
  ASSERT_EQ(a.size(), 20u);
  std::vector<int> per(10);
  for (size_t i : a) ++per[labels[i]];
  EXPECT_EQ(per[0] + per[1] + per[2] + per[9], 20);
  for (int c : {0, 1, 2, 9}) EXPECT_EQ(per[c], 5) << c;
  EXPECT_EQ(std::set<size_t>(a.begin(), a.end()).size(), 20u);  // no repeats
  EXPECT_EQ(pick_balanced(labels, 10, 20, 5), a);
  EXPECT_NE(pick_balanced(labels, 10, 20, 6), a);
  EXPECT_EQ(pick_balanced(labels, 10, 1000, 5).size(), 100u);  // all there is
}

}  // namespace
}  // namespace iciia::train
