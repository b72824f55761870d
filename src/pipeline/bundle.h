// A model bundle (DESIGN.md): manifest.json naming a backbone ONNX, an ICIIA
// weights file, the preprocessing, the labels and the history capacity.
// The manifest and files are untrusted: every field is checked, each file's
// sha256 is verified, and errors name the field or file.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/preprocess.h"
#include "store/history_record.h"

namespace iciia {

struct BundleManifest {
  std::string name;
  struct File {
    std::string file, sha256;  // sha256: 64 lowercase hex digits
  };
  File backbone, iciia;
  std::string input, features, logits;  // tensor names in the backbone
  PreprocessSpec preprocess;
  std::vector<std::string> labels;
  int history_capacity = 64;
  std::string samples;  // optional: demo sample index, relative to the bundle
};

inline constexpr const char* kBundleFormat = "iciia-bundle/1";
inline constexpr int kMaxHistoryCapacity = 1 << 16;
inline constexpr size_t kMaxManifestBytes = 4u << 20;
inline constexpr size_t kMaxLabels = 1u << 16;

// Throws kFormat naming the field ("backbone.preprocess.mean[1]: ...").
BundleManifest parse_manifest(std::string_view json);
std::string manifest_to_json(const BundleManifest& manifest);

// Checks both files against their sha256 (kFormat naming the file when they
// differ) and returns the bundle's fingerprint: sha256 over the two digests,
// so it changes whenever either weights file does and only then.
Fingerprint verify_bundle(const BundleManifest& manifest, std::span<const uint8_t> backbone,
                          std::span<const uint8_t> iciia);

}  // namespace iciia
