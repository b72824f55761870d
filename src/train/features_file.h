// A data set seen through a backbone: what `iciia extract` writes and
// `iciia train` / `iciia eval` read. Stored as safetensors:
//   features F32 [N, d]   penultimate activations (what ICIIA consumes)
//   logits   F32 [N, C]   the backbone's own logits (the baseline)
//   labels   I32 [N]      class ids in [0, C)
//   styles   I32 [N]      optional (styled sets, `extract --styles`): the entry's style
//   sources  I32 [N]      optional, with styles: the entry's image in the original split
//   __metadata__: format = "iciia-features/1", source (e.g. "fashion-mnist:test"),
//                 class_names (JSON array of C strings), backbone_sha256.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iciia::train {

struct FeatureSet {
  int64_t count = 0, dim = 0, num_classes = 0;
  std::vector<float> features;           // [count][dim]
  std::vector<float> logits;             // [count][num_classes]
  std::vector<int32_t> labels;           // [count]
  // Styled sets only (both or neither): style id and source image per entry.
  std::vector<int32_t> styles, sources;  // [count] or empty
  std::vector<std::string> class_names;  // [num_classes]
  std::string source;
  std::string backbone_sha256;
  bool styled() const { return !styles.empty(); }
  int32_t num_styles() const;  // 1 + the largest style id; 0 when not styled
};

// Throws iciia::Error (kFormat naming the tensor / field) on anything
// inconsistent: shapes, label range, class name count, format tag.
FeatureSet read_features(const std::string& path);
void write_features(const FeatureSet& set, const std::string& path);

}  // namespace iciia::train
