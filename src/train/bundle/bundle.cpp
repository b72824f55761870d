#include "train/bundle/bundle.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/engine.h"
#include "iciia/model.h"
#include "onnx/classifier_head.h"
#include "onnx/onnx_model.h"
#include "train/data/file_bytes.h"
#include "train/data/png_writer.h"
#include "train/features_file.h"
#include "util/error.h"
#include "safetensors/safetensors.h"
#include "util/sha256.h"

namespace iciia::train {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxWeightsBytes = 1ull << 30;

[[noreturn]] void mismatch(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "bundle: " + message);
}

void write_bytes(const fs::path& path, std::span<const uint8_t> bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw Error(ErrorCode::kIo, "cannot write '" + path.string() + "'");
}

void write_text(const fs::path& path, const std::string& text) {
  write_bytes(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// Uniform in [0, n) without modulo bias, from the raw engine only.
uint64_t uniform(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return x % n;
}

template <typename T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[uniform(rng, i)]);
}

int64_t row_width(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return dims.empty() ? 0 : n;
}

// The labels' frequencies in `set`; a class without images would get a
// prior of zero, which prior correction cannot divide by.
std::vector<double> label_frequencies(const data::Dataset& set, const std::vector<std::string>& labels,
                                      const std::string& spec) {
  std::vector<double> prior(labels.size());
  for (int32_t l : set.labels) prior[static_cast<size_t>(l)] += 1;
  for (size_t c = 0; c < prior.size(); ++c) {
    if (prior[c] == 0)
      mismatch("class '" + labels[c] + "' has no image in '" + spec + "', so its frequency (the source prior) "
               "would be zero: give images of every class, or pass --source-prior softmax or uniform");
    prior[c] /= static_cast<double>(set.labels.size());
  }
  return prior;
}

// The backbone's mean softmax over the images of `set` (the data's class
// distribution as the backbone sees it), in double.
std::vector<double> mean_softmax(engine::Engine& e, const std::string& logits, const data::Dataset& set,
                                 const PreprocessSpec& spec, size_t classes) {
  std::vector<double> prior(classes);
  std::vector<float> input(static_cast<size_t>(spec.channels) * spec.height * spec.width);
  std::vector<double> p(classes);
  for (const auto& image : set.images) {
    preprocess(image.view(), spec, input);
    e.run(input);
    const std::vector<float> l = e.read(logits);
    double max = -INFINITY, sum = 0;
    for (float v : l) max = std::max(max, double(v));
    for (size_t c = 0; c < classes; ++c) sum += p[c] = std::exp(double(l[c]) - max);
    for (size_t c = 0; c < classes; ++c) prior[c] += p[c] / sum / double(set.images.size());
  }
  return prior;
}

}  // namespace

std::vector<std::string> read_labels_file(const std::string& path) {
  const std::vector<uint8_t> bytes = data::read_file(path, 16u << 20);
  std::vector<std::string> out;
  std::string line;
  for (size_t i = 0; i <= bytes.size(); ++i) {
    if (i == bytes.size() || bytes[i] == '\n') {
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      if (!line.empty()) out.push_back(line);
      line.clear();
    } else {
      line += static_cast<char>(bytes[i]);
    }
  }
  return out;
}

std::vector<size_t> pick_balanced(const std::vector<int32_t>& labels, int num_classes, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<size_t>> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0 && labels[i] < num_classes) by_class[labels[i]].push_back(i);
  for (auto& c : by_class) shuffle(c, rng);
  std::vector<size_t> out;
  for (size_t round = 0; static_cast<int>(out.size()) < n; ++round) {
    bool any = false;
    for (const auto& c : by_class)
      if (round < c.size() && static_cast<int>(out.size()) < n) {
        out.push_back(c[round]);
        any = true;
      }
    if (!any) break;  // fewer images than asked for
  }
  shuffle(out, rng);
  return out;
}

BundleManifest read_manifest(const std::string& path) {
  const std::vector<uint8_t> bytes = data::read_file(path, kMaxManifestBytes);
  return parse_manifest(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

BackboneInfo read_backbone_info(const OnnxModel& model, const std::string& name, const BackboneFlags& flags) {
  BackboneInfo info;
  bool described = false;
  for (const auto& [key, value] : model.metadata_props)
    if (key == kBackboneMetadataKey) {
      info = parse_backbone_metadata(value, name + " (metadata " + kBackboneMetadataKey + ")");
      described = true;
    }
  if (!described) {
    if (flags.features.empty() || flags.logits.empty()) {
      const ClassifierHead head = find_classifier_head(model.graph, name);
      info.input = head.input;
      info.features = head.features;
      info.logits = head.logits;
    } else {
      for (const auto& in : model.graph.inputs)
        if (!model.graph.find_initializer(in.name)) {
          info.input = in.name;
          break;
        }
    }
  }
  if (!flags.input.empty()) info.input = flags.input;
  if (!flags.features.empty()) info.features = flags.features;
  if (!flags.logits.empty()) info.logits = flags.logits;
  if (!flags.preprocess.empty()) info.preprocess = preprocess_option(flags.preprocess, model, "--preprocess");
  return info;
}

PreprocessSpec preprocess_option(const std::string& text, const OnnxModel& model, const std::string& source) {
  if (text != "imagenet") return parse_preprocess(text, source);
  PreprocessSpec p;
  p.height = p.width = 224;
  for (const auto& in : model.graph.inputs) {
    if (model.graph.find_initializer(in.name)) continue;
    if (in.has_shape && in.shape.size() == 4 && in.shape[2].is_fixed() && in.shape[3].is_fixed() &&
        in.shape[2].value >= 1 && in.shape[3].value >= 1 && in.shape[2].value <= 4096 && in.shape[3].value <= 4096) {
      p.height = static_cast<int>(in.shape[2].value);
      p.width = static_cast<int>(in.shape[3].value);
    }
    break;
  }
  p.channels = 3;
  p.scale = 1.0f / 255.0f;
  p.mean = {0.485f, 0.456f, 0.406f};
  p.std = {0.229f, 0.224f, 0.225f};
  return p;
}

std::vector<uint8_t> weights_with_metadata(std::span<const uint8_t> bytes, int64_t dim, const IciiaHyper& hyper,
                                           const std::string& name) {
  const Safetensors file = Safetensors::parse(bytes);
  if (file.metadata().contains("format")) return {bytes.begin(), bytes.end()};
  const auto shape = [&](const std::string& tensor) {
    const TensorInfo* t = file.find(tensor);
    if (!t) throw Error(ErrorCode::kFormat, name + ": no __metadata__ and no tensor '" + tensor +
                                                "', so this is not a state_dict of the paper's module (docs/design.md, "
                                                "\"Weights file\")");
    return t->shape;
  };
  IciiaConfig c;
  c.dim = static_cast<int>(dim);
  c.num_heads = hyper.heads;
  c.shuffle = hyper.shuffle;
  c.attention = hyper.attention;
  const bool dense = file.find("encoder.layers.0.encoder_layers.0.self_attn.in_proj_weight") != nullptr;
  const std::string layer0 = dense ? "encoder.layers.0.encoder_layers.0." : "encoder.layers.0.";
  const auto in_proj = shape(layer0 + "self_attn.in_proj_weight");
  c.num_partitions = dense ? 1 : static_cast<int>(in_proj.empty() ? 0 : in_proj[0]);
  c.num_layers = 0;
  while (file.find("encoder.layers." + std::to_string(c.num_layers) + "." + (dense ? "encoder_layers.0." : "") +
                   "self_attn.in_proj_weight"))
    ++c.num_layers;
  const auto classifier = shape("classifier.weight");
  c.num_classes = static_cast<int>(classifier.empty() ? 0 : classifier[0]);
  SafetensorsWriter w;
  for (const auto& [k, v] : c.to_metadata()) w.set_metadata(k, v);
  for (const TensorInfo& t : file.tensors()) w.add_f32(t.name, t.shape, file.to_f32(t));
  std::vector<uint8_t> out = w.serialize();
  try {
    IciiaModel::load(out);
  } catch (const Error& e) {
    throw Error(e.code(), name + " (no __metadata__; read as d " + std::to_string(c.dim) + ", C " +
                              std::to_string(c.num_classes) + ", h " + std::to_string(c.num_heads) + ", L " +
                              std::to_string(c.num_layers) + ", g " + std::to_string(c.num_partitions) + "): " + e.what());
  }
  return out;
}

SourcePrior parse_source_prior(const std::string& name) {
  if (name == "auto") return SourcePrior::kAuto;
  if (name == "uniform") return SourcePrior::kUniform;
  if (name == "frequencies") return SourcePrior::kFrequencies;
  if (name == "softmax") return SourcePrior::kSoftmax;
  throw Error(ErrorCode::kInvalidArgument,
              "--source-prior '" + name + "': expected auto, uniform, frequencies or softmax");
}

BundleManifest write_bundle(const BundleOptions& opt) {
  if (opt.capacity < 1) mismatch("--capacity must be at least 1");
  if (opt.samples < 0 || opt.samples > 10000) mismatch("--samples must be in [0, 10000]");
  if (opt.samples > 0 && opt.data.empty()) mismatch("--samples needs --data (where the sample images come from)");
  SourcePrior prior_mode = opt.source_prior;
  if (prior_mode == SourcePrior::kAuto) prior_mode = opt.data.empty() ? SourcePrior::kUniform : SourcePrior::kFrequencies;
  if (prior_mode != SourcePrior::kUniform && opt.data.empty())
    mismatch("--source-prior frequencies or softmax needs --data (the images to measure it on)");
  const std::vector<uint8_t> backbone = data::read_file(opt.backbone, kMaxWeightsBytes);
  std::vector<uint8_t> weights;
  if (!opt.iciia.empty()) weights = data::read_file(opt.iciia, kMaxWeightsBytes);

  BundleManifest m;
  m.name = opt.name;
  m.history_capacity = opt.capacity;
  const BackboneInfo info = read_backbone_info(parse_onnx(backbone), opt.backbone, opt.flags);
  m.input = info.input;
  m.features = info.features;
  m.logits = info.logits;
  if (!info.preprocess)
    mismatch("'" + opt.backbone + "' carries no preprocessing (not made by iciia train-backbone): pass --preprocess "
             "(imagenet for torchvision's ImageNet normalisation, or a JSON object)");
  m.preprocess = *info.preprocess;

  data::Dataset set;  // of the samples and the source prior, read before anything is written
  const bool image_folder = opt.data.starts_with("images:");
  if (opt.labels.empty() && !info.labels.empty())
    m.labels = info.labels;
  else if (opt.labels.ends_with(".safetensors"))
    m.labels = read_features(opt.labels).class_names;
  else if (!opt.labels.empty())
    m.labels = read_labels_file(opt.labels);
  if (!opt.data.empty()) {
    set = data::load_dataset(opt.data, opt.paths, m.labels);
    if (m.labels.empty() && image_folder) m.labels = set.class_names;
    if (set.class_names != m.labels)
      mismatch("the classes of '" + opt.data + "' are not the bundle's labels, so sample labels would be wrong");
  }
  if (m.labels.empty())
    mismatch("no labels: pass --labels, or --data images:DIR (its class folders), as the backbone carries none");

  const PreprocessSpec& spec = m.preprocess;
  engine::EngineOptions eo;
  eo.input_dims = {1, spec.channels, spec.height, spec.width};
  eo.tensors = {m.features, m.logits};
  engine::Engine e = engine::Engine::load(backbone, eo);
  const int64_t d = row_width(e.dims(m.features)), c = row_width(e.dims(m.logits));
  if (static_cast<int64_t>(m.labels.size()) != c)
    mismatch("class counts disagree: backbone '" + m.logits + "' " + std::to_string(c) + ", labels " +
             std::to_string(m.labels.size()));
  if (!weights.empty()) {
    weights = weights_with_metadata(weights, d, opt.iciia_hyper, opt.iciia);
    const IciiaConfig config = IciiaModel::load(weights)->config();
    if (config.dim != d)
      mismatch("the backbone's '" + m.features + "' has " + std::to_string(d) + " values, the ICIIA module " +
               "expects dim " + std::to_string(config.dim));
    if (config.num_classes != c)
      mismatch("class counts disagree: backbone '" + m.logits + "' " + std::to_string(c) + ", ICIIA " +
               std::to_string(config.num_classes) + ", labels " + std::to_string(m.labels.size()));
  }
  if (prior_mode == SourcePrior::kFrequencies) m.source_prior = label_frequencies(set, m.labels, opt.data);
  if (prior_mode == SourcePrior::kSoftmax) m.source_prior = mean_softmax(e, m.logits, set, spec, m.labels.size());

  const fs::path out(opt.out);
  fs::create_directories(out);
  m.backbone = {"backbone.onnx", sha256_hex(backbone)};
  write_bytes(out / m.backbone.file, backbone);
  if (!weights.empty()) {
    m.iciia = BundleManifest::File{"iciia.safetensors", sha256_hex(weights)};
    write_bytes(out / m.iciia->file, weights);
  } else {
    // A stale copy from an earlier bundle in the same folder would look like
    // part of this one.
    fs::remove(out / "iciia.safetensors");
  }
  std::string labels_txt;
  for (const auto& l : m.labels) labels_txt += l + "\n";
  write_text(out / "labels.txt", labels_txt);

  if (opt.samples > 0) {
    fs::create_directories(out / "samples");
    std::string index = "[\n";
    const std::vector<size_t> picked =
        pick_balanced(set.labels, static_cast<int>(m.labels.size()), opt.samples, opt.seed);
    for (size_t i = 0; i < picked.size(); ++i) {
      char file[32];
      std::snprintf(file, sizeof file, "%04zu.png", i);
      data::write_png(set.images[picked[i]], (out / "samples" / file).string());
      index += std::string(i ? ",\n" : "") + "  {\"file\": \"" + file + "\", \"label\": " +
               std::to_string(set.labels[picked[i]]) + "}";
    }
    write_text(out / "samples" / "index.json", index + "\n]\n");
    m.samples = "samples/index.json";
  }
  write_text(out / "manifest.json", manifest_to_json(m));
  return m;
}

}  // namespace iciia::train
