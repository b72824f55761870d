// The model bundle's manifest.json (DESIGN.md, "Model bundle"), and the same
// backbone description carried inside a trained backbone's ONNX file
// (metadata_props key "iciia.backbone"), so that `extract` and `bundle`
// know a backbone's tensor names, preprocessing and labels without flags.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "onnx/onnx_model.h"
#include "pipeline/preprocess.h"

namespace iciia::train {

struct BackboneInfo {
  std::string input = "input", features = "features", logits = "logits";
  std::optional<PreprocessSpec> preprocess;
  std::vector<std::string> labels;
};

struct Manifest {
  std::string name;
  std::string backbone_file = "backbone.onnx", backbone_sha256;
  BackboneInfo backbone;  // its preprocess is required in a manifest
  std::string iciia_file = "iciia.safetensors", iciia_sha256;
  std::vector<std::string> labels;
  int history_capacity = 64;
  std::string samples;  // e.g. "samples/index.json"; omitted when empty
};

inline constexpr const char* kManifestFormat = "iciia-bundle/1";
inline constexpr const char* kBackboneMetadataKey = "iciia.backbone";

// Pretty-printed, keys in DESIGN.md's order. kInvalidArgument for a manifest
// without preprocessing or with an unusable one.
std::string manifest_json(const Manifest& manifest);
// kFormat naming `name` and the field for anything missing or mistyped.
Manifest parse_manifest(const std::string& text, const std::string& name);
Manifest read_manifest(const std::string& path);

// A preprocess object as in the manifest, e.g. from a command-line option:
// {"size": [28, 28], "channels": 1, "mean": [0.286], "std": [0.353], "scale": 0.00392156862745098}
PreprocessSpec parse_preprocess(const std::string& text, const std::string& name);

// The "iciia.backbone" metadata value, and its reading back from a model
// (defaults when the model has none; kFormat when it is malformed).
std::string backbone_metadata(const BackboneInfo& info);
BackboneInfo read_backbone_info(const OnnxModel& model, const std::string& name);

}  // namespace iciia::train
