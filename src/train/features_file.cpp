#include "train/features_file.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <nlohmann/json.hpp>

#include "safetensors/safetensors.h"
#include "util/error.h"
#include "util/text.h"

namespace iciia::train {

namespace {

constexpr const char* kFormat = "iciia-features/1";

[[noreturn]] void bad_file(const std::string& path, const std::string& message) {
  throw Error(ErrorCode::kFormat, "features file '" + path + "': " + message);
}

[[noreturn]] void bad_set(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "features set: " + message);
}

const TensorInfo& tensor(const Safetensors& st, const std::string& path, const std::string& name, SafetensorsDType dtype,
                         size_t rank) {
  const TensorInfo* t = st.find(name);
  if (!t) bad_file(path, "no tensor '" + name + "'");
  if (t->dtype != dtype)
    bad_file(path, "tensor '" + name + "' has dtype " + dtype_name(t->dtype) + ", expected " + dtype_name(dtype));
  if (t->shape.size() != rank)
    bad_file(path, "tensor '" + name + "' has shape " + dims_string(t->shape) + ", expected rank " +
                       std::to_string(rank));
  return *t;
}

// Index of the first non-finite value, or -1.
int64_t first_non_finite(const std::vector<float>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) return static_cast<int64_t>(i);
  return -1;
}

}  // namespace

FeatureSet read_features(const std::string& path) {
  const Safetensors st = Safetensors::read_file(path);
  const auto& meta = st.metadata();
  auto format = meta.find("format");
  if (format == meta.end()) bad_file(path, "__metadata__ has no 'format' (expected \"" + std::string(kFormat) + "\")");
  if (format->second != kFormat)
    bad_file(path, "__metadata__ 'format' is \"" + format->second + "\", expected \"" + kFormat + "\"");

  const TensorInfo& f = tensor(st, path, "features", SafetensorsDType::kF32, 2);
  const TensorInfo& l = tensor(st, path, "logits", SafetensorsDType::kF32, 2);
  const TensorInfo& y = tensor(st, path, "labels", SafetensorsDType::kI32, 1);
  FeatureSet set;
  set.count = f.shape[0];
  set.dim = f.shape[1];
  set.num_classes = l.shape[1];
  if (set.dim < 1) bad_file(path, "tensor 'features' has shape " + dims_string(f.shape) + ": no feature dimension");
  if (set.num_classes < 1) bad_file(path, "tensor 'logits' has shape " + dims_string(l.shape) + ": no classes");
  if (l.shape[0] != set.count || y.shape[0] != set.count)
    bad_file(path, "row counts disagree: features " + dims_string(f.shape) + ", logits " + dims_string(l.shape) +
                       ", labels " + dims_string(y.shape));

  auto names = meta.find("class_names");
  if (names == meta.end()) bad_file(path, "__metadata__ has no 'class_names'");
  const nlohmann::json parsed = nlohmann::json::parse(names->second, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) bad_file(path, "__metadata__ 'class_names' is not a JSON array");
  if (static_cast<int64_t>(parsed.size()) != set.num_classes)
    bad_file(path, "__metadata__ 'class_names' has " + std::to_string(parsed.size()) + " names but 'logits' has " +
                       std::to_string(set.num_classes) + " classes");
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (!parsed[i].is_string()) bad_file(path, "__metadata__ 'class_names' entry " + std::to_string(i) + " is not a string");
    set.class_names.push_back(parsed[i].get<std::string>());
  }
  // Informational: files made by other tools may lack them.
  if (auto it = meta.find("source"); it != meta.end()) set.source = it->second;
  if (auto it = meta.find("backbone_sha256"); it != meta.end()) set.backbone_sha256 = it->second;

  set.features = st.to_f32(f);
  set.logits = st.to_f32(l);
  set.labels = st.to_i32(y);
  for (const auto& [name, values, width] : {std::tuple{"features", &set.features, set.dim},
                                            std::tuple{"logits", &set.logits, set.num_classes}}) {
    if (const int64_t at = first_non_finite(*values); at >= 0)
      bad_file(path, std::string("tensor '") + name + "' row " + std::to_string(at / width) + " column " +
                         std::to_string(at % width) + " is not finite");
  }
  for (int64_t i = 0; i < set.count; ++i)
    if (set.labels[i] < 0 || set.labels[i] >= set.num_classes)
      bad_file(path, "label " + std::to_string(set.labels[i]) + " at row " + std::to_string(i) + " is outside [0, " +
                         std::to_string(set.num_classes) + ")");
  const TensorInfo* styles = st.find("styles");
  const TensorInfo* sources = st.find("sources");
  if ((styles == nullptr) != (sources == nullptr)) bad_file(path, "has one of 'styles' and 'sources' but not both");
  if (styles) {
    for (const char* name : {"styles", "sources"}) {
      const TensorInfo& t = tensor(st, path, name, SafetensorsDType::kI32, 1);
      if (t.shape[0] != set.count)
        bad_file(path, std::string("tensor '") + name + "' has shape " + dims_string(t.shape) + ", expected [" +
                           std::to_string(set.count) + "]");
    }
    set.styles = st.to_i32(*styles);
    set.sources = st.to_i32(*sources);
    for (int64_t i = 0; i < set.count; ++i)
      if (set.styles[i] < 0 || set.sources[i] < 0)
        bad_file(path, "negative style or source at row " + std::to_string(i));
  }
  return set;
}

int32_t FeatureSet::num_styles() const {
  int32_t n = 0;
  for (int32_t s : styles) n = std::max(n, s + 1);
  return n;
}

void write_features(const FeatureSet& set, const std::string& path) {
  if (set.count < 0 || set.dim < 1 || set.num_classes < 1)
    bad_set("count " + std::to_string(set.count) + ", dim " + std::to_string(set.dim) + ", num_classes " +
            std::to_string(set.num_classes) + " (need count >= 0, dim >= 1, num_classes >= 1)");
  const auto expect_size = [](const char* what, size_t got, int64_t rows, int64_t width) {
    if (static_cast<int64_t>(got) / width != rows || static_cast<int64_t>(got) % width != 0)
      bad_set(std::string(what) + " holds " + std::to_string(got) + " values, expected " + std::to_string(rows) +
              " x " + std::to_string(width));
  };
  expect_size("features", set.features.size(), set.count, set.dim);
  expect_size("logits", set.logits.size(), set.count, set.num_classes);
  expect_size("labels", set.labels.size(), set.count, 1);
  if (static_cast<int64_t>(set.class_names.size()) != set.num_classes)
    bad_set(std::to_string(set.class_names.size()) + " class names for " + std::to_string(set.num_classes) +
            " classes");
  for (int64_t i = 0; i < set.count; ++i)
    if (set.labels[i] < 0 || set.labels[i] >= set.num_classes)
      bad_set("label " + std::to_string(set.labels[i]) + " at row " + std::to_string(i) + " is outside [0, " +
              std::to_string(set.num_classes) + ")");

  if (set.styles.size() != set.sources.size() || (!set.styles.empty() && static_cast<int64_t>(set.styles.size()) != set.count))
    bad_set(std::to_string(set.styles.size()) + " styles and " + std::to_string(set.sources.size()) + " sources for " +
            std::to_string(set.count) + " rows (expected both empty or both one per row)");

  std::string class_names;
  try {
    class_names = nlohmann::json(set.class_names).dump();
  } catch (const nlohmann::json::exception&) {
    bad_set("a class name is not valid UTF-8");
  }

  SafetensorsWriter w;
  w.set_metadata("format", kFormat);
  w.set_metadata("source", set.source);
  w.set_metadata("class_names", class_names);
  w.set_metadata("backbone_sha256", set.backbone_sha256);
  w.add_f32("features", {set.count, set.dim}, set.features);
  w.add_f32("logits", {set.count, set.num_classes}, set.logits);
  w.add_i32("labels", {set.count}, set.labels);
  if (set.styled()) {
    w.add_i32("styles", {set.count}, set.styles);
    w.add_i32("sources", {set.count}, set.sources);
  }
  w.write_file(path);
}

}  // namespace iciia::train
