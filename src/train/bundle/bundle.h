// `iciia bundle`: a model bundle folder (docs/design.md, "Model bundle") from
// a backbone ONNX and, optionally, ICIIA weights: manifest.json, copies of
// the weight files, labels.txt, and optionally samples/ (PNG test images +
// index.json). Without ICIIA weights the bundle adapts by prior correction,
// with the source prior measured on the data given.
// Also the file-side readers of the bundle description: a manifest on disk,
// and what an ONNX model says of itself ("iciia.backbone" metadata, else its
// classifier head as find_classifier_head() sees it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iciia/config.h"
#include "onnx/onnx_model.h"
#include "pipeline/bundle.h"
#include "train/data/dataset.h"

namespace iciia::train {

// What the command line may say about a backbone, overriding what the model
// says of itself. Empty: the model's own.
struct BackboneFlags {
  std::string input, features, logits;  // tensor names
  // A preprocess object as in a manifest (JSON), or "imagenet" (see
  // preprocess_option).
  std::string preprocess;
};

// Where a backbone-only bundle's source prior π_s (the class frequencies the
// backbone was trained under, docs/design.md "Adaptation") comes from.
enum class SourcePrior {
  kAuto,         // kFrequencies when data is given, else kUniform
  kUniform,      // none written: the runtime takes it as uniform
  kFrequencies,  // the labels' frequencies in the data (every class must occur)
  kSoftmax,      // the backbone's mean softmax over the data's images
};
// "auto", "uniform", "frequencies", "softmax"; kInvalidArgument otherwise.
SourcePrior parse_source_prior(const std::string& name);

// What the shapes of a bare state_dict cannot tell (see weights_with_metadata).
struct IciiaHyper {
  int heads = 4;        // the paper's h
  bool shuffle = true;  // the paper's default
  AttentionMode attention = AttentionMode::kFull;
};

struct BundleOptions {
  std::string backbone;
  std::string iciia;  // ICIIA weights; empty: a backbone-only bundle (prior correction)
  IciiaHyper iciia_hyper;  // for weights without `__metadata__` only
  // Labels: a text file (one per line), a features file (its class names), or
  // empty for the backbone's own ("iciia.backbone" metadata), else the class
  // folders of `data` when it is images:DIR (sorted, as torchvision's
  // ImageFolder numbers them).
  std::string labels;
  std::string out;  // folder, created if needed
  std::string name = "iciia bundle";
  BackboneFlags flags;
  int capacity = 64;
  int samples = 0;  // sample images to add from `data` (0: no samples/)
  // Labelled images (a load_dataset() spec): the samples' source and the
  // source prior's. Empty: none (then samples must be 0).
  std::string data;
  SourcePrior source_prior = SourcePrior::kAuto;
  uint64_t seed = 1;
  data::DataPaths paths;
};

// Checks that the pieces fit (the engine loads the backbone; its logits
// count matches the labels, and its features width and logits count the
// ICIIA weights) before writing anything; kInvalidArgument says which do
// not. Returns the manifest written.
BundleManifest write_bundle(const BundleOptions& options);

// The preprocessing `text` asks for: a JSON object as in a manifest
// (parse_preprocess), or "imagenet": RGB, scale 1/255, torchvision's ImageNet
// mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), at the size the
// model's input declares (224 x 224 when its height or width is not fixed).
PreprocessSpec preprocess_option(const std::string& text, const OnnxModel& model, const std::string& source);

// ICIIA weights as a bundle ships them: `bytes` themselves when they carry
// the `__metadata__` of docs/design.md ("Weights file"); a state_dict saved
// without it (the paper's code: `save_file(model.state_dict(), path)`) is
// written again with it: d is the backbone's features width `dim`; g, L and C
// come from the tensor shapes, h, shuffle and attention from `hyper`. The
// result is checked by the runtime's loader (kFormat naming the tensor).
std::vector<uint8_t> weights_with_metadata(std::span<const uint8_t> bytes, int64_t dim, const IciiaHyper& hyper,
                                           const std::string& name);

// manifest.json from disk (kIo if unreadable, parse_manifest's errors).
BundleManifest read_manifest(const std::string& path);
// The model's "iciia.backbone" metadata (kFormat naming `name` when it is
// malformed); without it, the tensor names of its classifier head
// (find_classifier_head; kUnsupported when it has none) and no
// preprocessing or labels. `flags` override either; with features and
// logits named there, the head is not looked for.
BackboneInfo read_backbone_info(const OnnxModel& model, const std::string& name, const BackboneFlags& flags = {});

// Lines of a text file, trailing whitespace removed, blank lines skipped.
std::vector<std::string> read_labels_file(const std::string& path);

// `n` indices into `labels`, as even across the classes present as n allows
// (round-robin over classes, each class's images in a seeded random order),
// then shuffled; the same for the same seed everywhere (mt19937_64, no
// std:: distributions, whose output is implementation-defined).
std::vector<size_t> pick_balanced(const std::vector<int32_t>& labels, int num_classes, int n, uint64_t seed);

}  // namespace iciia::train
