// `iciia bundle`: a model bundle folder (docs/design.md, "Model bundle") from
// a backbone ONNX and ICIIA weights: manifest.json, copies of both weight
// files, labels.txt, and optionally samples/ (PNG test images + index.json).
// Also the file-side readers of the bundle description: a manifest on disk,
// and the "iciia.backbone" metadata of an ONNX model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onnx/onnx_model.h"
#include "pipeline/bundle.h"
#include "train/data/dataset.h"

namespace iciia::train {

struct BundleOptions {
  std::string backbone, iciia;  // input files
  // Labels: a text file (one per line), a features file (its class names), or
  // empty for the backbone's own ("iciia.backbone" metadata).
  std::string labels;
  std::string out;  // folder, created if needed
  std::string name = "iciia bundle";
  std::optional<PreprocessSpec> preprocess;  // overrides the backbone's own
  int capacity = 64;
  int samples = 0;  // sample images to add (0: no samples/)
  std::string data = "fashion-mnist:test";
  uint64_t seed = 1;
  data::DataPaths paths;
};

// Checks that the pieces fit (the engine loads the backbone; its features
// width and logits count match the ICIIA weights and the labels) before
// writing anything; kInvalidArgument says which do not. Returns the manifest
// written.
BundleManifest write_bundle(const BundleOptions& options);

// manifest.json from disk (kIo if unreadable, parse_manifest's errors).
BundleManifest read_manifest(const std::string& path);
// The model's "iciia.backbone" metadata, or defaults when it has none
// (kFormat naming `name` when it is malformed).
BackboneInfo read_backbone_info(const OnnxModel& model, const std::string& name);

// Lines of a text file, trailing whitespace removed, blank lines skipped.
std::vector<std::string> read_labels_file(const std::string& path);

// `n` indices into `labels`, as even across the classes present as n allows
// (round-robin over classes, each class's images in a seeded random order),
// then shuffled; the same for the same seed everywhere (mt19937_64, no
// std:: distributions, whose output is implementation-defined).
std::vector<size_t> pick_balanced(const std::vector<int32_t>& labels, int num_classes, int n, uint64_t seed);

}  // namespace iciia::train
