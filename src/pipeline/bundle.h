// A model bundle (docs/design.md, "Model bundle"): manifest.json naming a
// backbone ONNX, optionally an ICIIA weights file, the preprocessing, the
// labels, the default adaptation and the history capacity; and the same
// backbone description carried inside an ONNX file the tool trained
// (metadata_props key "iciia.backbone"), so `iciia extract` and `iciia
// bundle` know its tensor names, preprocessing and labels without flags.
//
// One reader and one writer, used by the runtime (which loads untrusted
// bundles: every field is checked, each file's sha256 is verified, errors
// name the field or file) and by the native tool (which writes bundles).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/preprocess.h"
#include "store/history_record.h"

namespace iciia {

// How a recognizer adapts the backbone's answer to one client's history
// (docs/design.md, "Adaptation").
enum class Adaptation {
  kIciia,  // the ICIIA module attends over the history's features
  kPrior,  // EM prior correction of the backbone's posteriors (no weights)
  kNone,   // the backbone alone
};
const char* adaptation_name(Adaptation a);  // "iciia", "prior", "none"
std::optional<Adaptation> adaptation_from_name(std::string_view name);

// What a backbone is, apart from its weights: tensor names, preprocessing
// and labels. `preprocess` and `labels` may be unknown for an ONNX file
// that was not made by `iciia train-backbone`.
struct BackboneInfo {
  std::string input = "input", features = "features", logits = "logits";
  std::optional<PreprocessSpec> preprocess;
  std::vector<std::string> labels;
};

struct BundleManifest {
  struct File {
    std::string file, sha256;  // sha256: 64 lowercase hex digits
  };
  std::string name = "unnamed";
  File backbone;
  std::string input = "input", features = "features", logits = "logits";  // tensor names in the backbone
  PreprocessSpec preprocess;
  // Absent: a backbone-only bundle, which adapts by prior correction.
  std::optional<File> iciia;
  // The recognizer's adaptation unless its caller picks another; unset:
  // kIciia with ICIIA weights, kPrior without.
  std::optional<Adaptation> adaptation;
  // The class frequencies the backbone was trained under (prior
  // correction's π_s), normalised; empty: uniform.
  std::vector<double> source_prior;
  std::vector<std::string> labels;
  int history_capacity = 64;
  std::string samples;  // optional: demo sample index, relative to the bundle

  Adaptation default_adaptation() const { return adaptation.value_or(iciia ? Adaptation::kIciia : Adaptation::kPrior); }
};

inline constexpr const char* kBundleFormat = "iciia-bundle/1";
inline constexpr const char* kBackboneMetadataKey = "iciia.backbone";
inline constexpr int kMaxHistoryCapacity = 1 << 16;
inline constexpr size_t kMaxManifestBytes = 4u << 20;
inline constexpr size_t kMaxLabels = 1u << 16;

// Throws kFormat naming `source` and the field ("bundle manifest:
// backbone.preprocess.mean[1]: ..."), kUnsupported for another format,
// kLimit for a manifest larger than kMaxManifestBytes.
BundleManifest parse_manifest(std::string_view json, const std::string& source = "bundle manifest");
// Pretty-printed, keys in the documented order, floats in their shortest
// form (0.286, not 0.28600001335144043). kInvalidArgument for a manifest
// that parse_manifest would refuse (bad preprocessing, adaptation kIciia
// without weights, a source prior of the wrong length).
std::string manifest_to_json(const BundleManifest& manifest);

// A preprocess object as in the manifest, e.g. from a command-line option:
// {"size": [28, 28], "channels": 1, "mean": [0.286], "std": [0.353], "scale": 0.00392156862745098}
PreprocessSpec parse_preprocess(std::string_view json, const std::string& source);

// The "iciia.backbone" metadata value of an ONNX file, and its reading back
// (kFormat naming `source` when it is malformed).
std::string backbone_metadata(const BackboneInfo& info);
BackboneInfo parse_backbone_metadata(std::string_view json, const std::string& source);

// Checks the files against their sha256 (kFormat naming the file when they
// differ; `iciia` must be empty for a backbone-only bundle) and returns the
// bundle's fingerprint: sha256 over the digests, so it changes whenever a
// weights file does and only then.
Fingerprint verify_bundle(const BundleManifest& manifest, std::span<const uint8_t> backbone,
                          std::span<const uint8_t> iciia);

}  // namespace iciia
