// Features files: the contract between `iciia extract` and `iciia train/eval`.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "safetensors/safetensors.h"
#include "test_support.h"
#include "train/features_file.h"

namespace iciia::train {
namespace {

FeatureSet small_set() {
  FeatureSet s;
  s.count = 3;
  s.dim = 2;
  s.num_classes = 4;
  s.features = {0.5f, -1.f, 2.f, 3.25f, -0.125f, 7.f};
  s.logits = {1, 2, 3, 4, -1, -2, -3, -4, 0, 0, 0.5f, 0};
  s.labels = {3, 0, 2};
  s.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress \"quoted\""};
  s.source = "fashion-mnist:test";
  s.backbone_sha256 = std::string(64, 'a');
  return s;
}

// A features file with `mutate` applied to a valid writer's content.
std::string write_raw(const std::string& dir, const std::string& name,
                      const std::function<void(SafetensorsWriter&)>& tensors,
                      const std::map<std::string, std::string>& meta) {
  SafetensorsWriter w;
  for (const auto& [k, v] : meta) w.set_metadata(k, v);
  tensors(w);
  const std::string path = dir + "/" + name;
  w.write_file(path);
  return path;
}

const std::map<std::string, std::string> kGoodMeta = {
    {"format", "iciia-features/1"}, {"class_names", R"(["a","b"])"}, {"source", "x"}};

void good_tensors(SafetensorsWriter& w) {
  const float f[] = {1, 2, 3, 4}, l[] = {0, 1, 1, 0};
  const int32_t y[] = {1, 0};
  w.add_f32("features", {2, 2}, f);
  w.add_f32("logits", {2, 2}, l);
  w.add_i32("labels", {2}, y);
}

TEST(FeaturesFile, RoundTripKeepsEveryField) {
  const std::string path = test::temp_dir() + "/f.safetensors";
  const FeatureSet in = small_set();
  write_features(in, path);
  const FeatureSet out = read_features(path);
  EXPECT_EQ(out.count, 3);
  EXPECT_EQ(out.dim, 2);
  EXPECT_EQ(out.num_classes, 4);
  EXPECT_EQ(out.features, in.features);
  EXPECT_EQ(out.logits, in.logits);
  EXPECT_EQ(out.labels, in.labels);
  EXPECT_EQ(out.class_names, in.class_names);
  EXPECT_EQ(out.source, "fashion-mnist:test");
  EXPECT_EQ(out.backbone_sha256, in.backbone_sha256);

  // The layout other tools rely on: tensor dtypes/shapes and metadata strings.
  const Safetensors st = Safetensors::read_file(path);
  EXPECT_EQ(st.get("labels").dtype, SafetensorsDType::kI32);
  EXPECT_EQ(st.get("features").shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(st.get("logits").shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(st.metadata().at("format"), "iciia-features/1");
  EXPECT_EQ(st.metadata().at("class_names"), R"(["T-shirt/top","Trouser","Pullover","Dress \"quoted\""])");
}

TEST(FeaturesFile, StyledSetsKeepStylesAndSources) {
  const std::string path = test::temp_dir() + "/styled.safetensors";
  FeatureSet in = small_set();
  EXPECT_FALSE(in.styled());
  in.styles = {0, 1, 1};
  in.sources = {17, 17, 4};
  write_features(in, path);
  const FeatureSet out = read_features(path);
  EXPECT_EQ(out.styles, in.styles);
  EXPECT_EQ(out.sources, in.sources);
  EXPECT_EQ(out.num_styles(), 2);
  // Both or neither, one per row.
  in.sources.pop_back();
  test::expect_error([&] { write_features(in, path); }, ErrorCode::kInvalidArgument, {"3 styles and 2 sources"});
  const std::string half = write_raw(test::temp_dir(), "half.safetensors", [](SafetensorsWriter& w) {
    good_tensors(w);
    const int32_t st[] = {0, 1};
    w.add_i32("styles", {2}, st);
  }, kGoodMeta);
  test::expect_error([&] { read_features(half); }, ErrorCode::kFormat, {"'styles' and 'sources' but not both"});
}

TEST(FeaturesFile, EmptySetRoundTrips) {
  const std::string path = test::temp_dir() + "/e.safetensors";
  FeatureSet s = small_set();
  s.count = 0;
  s.features.clear();
  s.logits.clear();
  s.labels.clear();
  write_features(s, path);
  const FeatureSet out = read_features(path);
  EXPECT_EQ(out.count, 0);
  EXPECT_EQ(out.dim, 2);
  EXPECT_EQ(out.num_classes, 4);
}

TEST(FeaturesFile, WriterRejectsInconsistentSets) {
  const std::string path = test::temp_dir() + "/w.safetensors";
  FeatureSet s = small_set();
  s.features.pop_back();
  test::expect_error([&] { write_features(s, path); }, ErrorCode::kInvalidArgument, {"features", "5 values", "3 x 2"});
  s = small_set();
  s.labels[1] = 4;
  test::expect_error([&] { write_features(s, path); }, ErrorCode::kInvalidArgument, {"label 4", "row 1", "[0, 4)"});
  s = small_set();
  s.class_names.pop_back();
  test::expect_error([&] { write_features(s, path); }, ErrorCode::kInvalidArgument, {"3 class names", "4 classes"});
  s = small_set();
  s.dim = 0;
  test::expect_error([&] { write_features(s, path); }, ErrorCode::kInvalidArgument, {"dim 0"});
  s = small_set();
  s.class_names[0] = "bad\xff";
  test::expect_error([&] { write_features(s, path); }, ErrorCode::kInvalidArgument, {"UTF-8"});
}

TEST(FeaturesFile, ReaderAcceptsTheMinimalValidFile) {
  const std::string dir = test::temp_dir();
  const FeatureSet s = read_features(write_raw(dir, "ok", good_tensors, kGoodMeta));
  EXPECT_EQ(s.labels, (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(s.class_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.backbone_sha256, "");  // optional
}

TEST(FeaturesFile, ReaderNamesWhatIsWrong) {
  const std::string dir = test::temp_dir();
  auto meta = [](std::initializer_list<std::pair<const std::string, std::string>> changes, const char* drop = nullptr) {
    auto m = kGoodMeta;
    for (const auto& [k, v] : changes) m[k] = v;
    if (drop) m.erase(drop);
    return m;
  };
  const float f4[] = {1, 2, 3, 4}, f2[] = {1, 2};
  const int32_t y2[] = {1, 0}, y3[] = {1, 0, 1}, bad_label[] = {1, 2};

  test::expect_error([&] { read_features(write_raw(dir, "nofmt", good_tensors, meta({}, "format"))); },
                     ErrorCode::kFormat, {"nofmt", "'format'"});
  test::expect_error([&] { read_features(write_raw(dir, "fmt", good_tensors, meta({{"format", "iciia/1"}}))); },
                     ErrorCode::kFormat, {"\"iciia/1\"", "iciia-features/1"});
  test::expect_error([&] { read_features(write_raw(dir, "nonames", good_tensors, meta({}, "class_names"))); },
                     ErrorCode::kFormat, {"'class_names'"});
  test::expect_error([&] { read_features(write_raw(dir, "names1", good_tensors, meta({{"class_names", R"(["a"])"}}))); },
                     ErrorCode::kFormat, {"1 names", "2 classes"});
  test::expect_error([&] { read_features(write_raw(dir, "names2", good_tensors, meta({{"class_names", "[a, b"}}))); },
                     ErrorCode::kFormat, {"not a JSON array"});
  test::expect_error([&] { read_features(write_raw(dir, "names3", good_tensors, meta({{"class_names", "[1, \"b\"]"}}))); },
                     ErrorCode::kFormat, {"entry 0", "not a string"});
  test::expect_error(
      [&] {
        read_features(write_raw(dir, "nolabels", [&](SafetensorsWriter& w) {
          w.add_f32("features", {2, 2}, f4);
          w.add_f32("logits", {2, 2}, f4);
        }, kGoodMeta));
      },
      ErrorCode::kFormat, {"no tensor 'labels'"});
  test::expect_error(
      [&] {
        read_features(write_raw(dir, "f32labels", [&](SafetensorsWriter& w) {
          w.add_f32("features", {2, 2}, f4);
          w.add_f32("logits", {2, 2}, f4);
          w.add_f32("labels", {2}, f2);
        }, kGoodMeta));
      },
      ErrorCode::kFormat, {"'labels'", "dtype F32", "expected I32"});
  test::expect_error(
      [&] {
        read_features(write_raw(dir, "rank", [&](SafetensorsWriter& w) {
          w.add_f32("features", {4}, f4);
          w.add_f32("logits", {2, 2}, f4);
          w.add_i32("labels", {2}, y2);
        }, kGoodMeta));
      },
      ErrorCode::kFormat, {"'features'", "[4]", "rank 2"});
  test::expect_error(
      [&] {
        read_features(write_raw(dir, "rows", [&](SafetensorsWriter& w) {
          w.add_f32("features", {2, 2}, f4);
          w.add_f32("logits", {2, 2}, f4);
          w.add_i32("labels", {3}, y3);
        }, kGoodMeta));
      },
      ErrorCode::kFormat, {"row counts disagree", "labels [3]"});
  test::expect_error(
      [&] {
        read_features(write_raw(dir, "range", [&](SafetensorsWriter& w) {
          w.add_f32("features", {2, 2}, f4);
          w.add_f32("logits", {2, 2}, f4);
          w.add_i32("labels", {2}, bad_label);
        }, kGoodMeta));
      },
      ErrorCode::kFormat, {"label 2", "row 1", "[0, 2)"});
  const float nan4[] = {1, 2, std::numeric_limits<float>::quiet_NaN(), 4};
  test::expect_error(
      [&] {
        read_features(write_raw(dir, "nan", [&](SafetensorsWriter& w) {
          w.add_f32("features", {2, 2}, nan4);
          w.add_f32("logits", {2, 2}, f4);
          w.add_i32("labels", {2}, y2);
        }, kGoodMeta));
      },
      ErrorCode::kFormat, {"'features' row 1 column 0", "not finite"});
  test::expect_error([&] { read_features(dir + "/missing.safetensors"); }, ErrorCode::kIo, {"missing.safetensors"});
}

}  // namespace
}  // namespace iciia::train
