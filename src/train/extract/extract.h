// `iciia extract`: a data set through a backbone with the core engine (the
// code the browser runs), into a features file (features_file.h).
#pragma once

#include <optional>
#include <string>

#include "train/bundle/manifest.h"
#include "train/data/dataset.h"
#include "train/features_file.h"

namespace iciia::train {

struct ExtractOptions {
  std::string model;   // backbone ONNX; may be empty with a bundle (its backbone file)
  std::string bundle;  // manifest.json: tensor names, preprocessing, labels
  std::string data;    // a load_dataset() spec
  // Overrides the bundle's or the model's own ("iciia.backbone" metadata).
  std::optional<PreprocessSpec> preprocess;
  data::DataPaths paths;
};

// What extract uses: the model file, and its tensor names, preprocessing and
// labels from (in order of precedence) the options, the bundle, the model's
// metadata. kInvalidArgument when no preprocessing is known.
struct ResolvedBackbone {
  std::string path;
  BackboneInfo info;
};
ResolvedBackbone resolve_backbone(const ExtractOptions& options);

// Prints a progress bar and the backbone's accuracy on the set. Throws when
// the data set's classes do not match the backbone's logits.
FeatureSet extract_features(const ExtractOptions& options);

}  // namespace iciia::train
