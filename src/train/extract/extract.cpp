#include "train/extract/extract.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "engine/engine.h"
#include "onnx/onnx_model.h"
#include "train/bundle/bundle.h"
#include "train/data/file_bytes.h"
#include "train/progress.h"
#include "util/error.h"
#include "util/sha256.h"

namespace iciia::train {

namespace {

constexpr uint64_t kMaxModelBytes = 512ull << 20;

struct ResolvedBackbone {
  std::string path;
  BackboneInfo info;
};

ResolvedBackbone resolve_backbone(const ExtractOptions& options) {
  ResolvedBackbone r;
  std::optional<BundleManifest> manifest;
  if (!options.bundle.empty()) manifest = read_manifest(options.bundle);
  r.path = options.model;
  if (r.path.empty() && manifest)
    r.path = (std::filesystem::path(options.bundle).parent_path() / manifest->backbone.file).string();
  if (r.path.empty()) throw Error(ErrorCode::kInvalidArgument, "no backbone: pass --model or --bundle");
  const BackboneFlags& f = options.flags;
  if (manifest) {
    r.info = {manifest->input, manifest->features, manifest->logits, manifest->preprocess, manifest->labels};
    if (!f.input.empty()) r.info.input = f.input;
    if (!f.features.empty()) r.info.features = f.features;
    if (!f.logits.empty()) r.info.logits = f.logits;
    if (!f.preprocess.empty())
      r.info.preprocess =
          preprocess_option(f.preprocess, parse_onnx(data::read_file(r.path, kMaxModelBytes)), "--preprocess");
  } else {
    r.info = read_backbone_info(parse_onnx(data::read_file(r.path, kMaxModelBytes)), r.path, f);
  }
  if (!r.info.preprocess)
    throw Error(ErrorCode::kInvalidArgument, "'" + r.path + "' carries no preprocessing (it was not made by "
                                             "iciia train-backbone): pass --bundle or --preprocess");
  return r;
}

}  // namespace

FeatureSet extract_features(const ExtractOptions& options) {
  const ResolvedBackbone backbone = resolve_backbone(options);
  const PreprocessSpec& spec = *backbone.info.preprocess;
  const std::vector<uint8_t> onnx = data::read_file(backbone.path, kMaxModelBytes);
  engine::EngineOptions eo;
  eo.input_dims = {1, spec.channels, spec.height, spec.width};
  eo.tensors = {backbone.info.features, backbone.info.logits};
  engine::Engine e = engine::Engine::load(onnx, eo);
  const std::vector<int64_t> fdims = e.dims(backbone.info.features), ldims = e.dims(backbone.info.logits);
  const auto width = [](const std::vector<int64_t>& d) {
    int64_t n = 1;
    for (size_t i = 1; i < d.size(); ++i) n *= d[i];
    return d.empty() ? 0 : n;
  };

  const data::Dataset d = data::load_dataset(options.data, options.paths, backbone.info.labels);
  FeatureSet set;
  set.count = static_cast<int64_t>(d.images.size());
  set.dim = width(fdims);
  set.num_classes = width(ldims);
  set.class_names = d.class_names;
  set.source = d.source;
  set.backbone_sha256 = sha256_hex(onnx);
  if (static_cast<int64_t>(d.class_names.size()) != set.num_classes)
    throw Error(ErrorCode::kInvalidArgument, "'" + options.data + "' has " + std::to_string(d.class_names.size()) +
                                                 " classes but the backbone's '" + backbone.info.logits + "' has " +
                                                 std::to_string(set.num_classes) + " outputs");
  if (!backbone.info.labels.empty() && backbone.info.labels != d.class_names)
    std::fprintf(stderr, "iciia extract: warning: the data set's class names differ from the backbone's labels\n");

  set.features.resize(static_cast<size_t>(set.count * set.dim));
  set.logits.resize(static_cast<size_t>(set.count * set.num_classes));
  set.labels = d.labels;
  std::vector<float> input(static_cast<size_t>(spec.channels) * spec.height * spec.width);
  int64_t correct = 0;
  {
    Progress bar("extract " + d.source, set.count, "img");
    for (int64_t i = 0; i < set.count; ++i) {
      preprocess(d.images[i].view(), spec, input);
      e.run(input);
      const std::vector<float> f = e.read(backbone.info.features), l = e.read(backbone.info.logits);
      std::copy(f.begin(), f.end(), set.features.begin() + i * set.dim);
      std::copy(l.begin(), l.end(), set.logits.begin() + i * set.num_classes);
      correct += std::max_element(l.begin(), l.end()) - l.begin() == d.labels[i];
      bar.update(1, -1, double(correct) / (i + 1));
    }
  }
  std::printf("%s: %lld images, features '%s' %lld wide, backbone accuracy %.2f%%\n", d.source.c_str(),
              static_cast<long long>(set.count), backbone.info.features.c_str(), static_cast<long long>(set.dim),
              set.count ? 100.0 * correct / set.count : 0.0);
  return set;
}

}  // namespace iciia::train
