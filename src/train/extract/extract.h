// `iciia extract`: a data set through a backbone with the core engine (the
// code the browser runs), into a features file (features_file.h).
#pragma once

#include <optional>
#include <string>

#include "pipeline/bundle.h"
#include "train/bundle/bundle.h"
#include "train/data/dataset.h"
#include "train/features_file.h"

namespace iciia::train {

struct ExtractOptions {
  std::string model;   // backbone ONNX; may be empty with a bundle (its backbone file)
  std::string bundle;  // manifest.json: tensor names, preprocessing, labels
  std::string data;    // a load_dataset() spec
  // Override the bundle's or the model's own (its "iciia.backbone" metadata,
  // else its classifier head: read_backbone_info).
  BackboneFlags flags;
  data::DataPaths paths;
};

// The backbone's tensor names, preprocessing and labels come from (in order
// of precedence) the options, the bundle, the model's own metadata, the
// model's classifier head (tensor names only);
// kInvalidArgument when no preprocessing is known, or when the data set's
// classes do not match the backbone's logits. Prints a progress bar and the
// backbone's accuracy on the set.
FeatureSet extract_features(const ExtractOptions& options);

}  // namespace iciia::train
