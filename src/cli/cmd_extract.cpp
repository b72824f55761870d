// iciia extract --model backbone.onnx --data SPEC --out features.safetensors [--bundle manifest.json]
//               [--preprocess imagenet|JSON] [--features NAME --logits NAME]
// Runs the core engine (the browser's code), not libtorch, so cloud-side
// features are those the client computes.
#include <cstdio>

#include "cli/commands.h"
#include "pipeline/bundle.h"
#include "train/extract/extract.h"
#include "train/features_file.h"

namespace iciia::cli {

namespace {
struct ExtractArgs {
  train::ExtractOptions options;
  std::string out;
};
}  // namespace

Run add_extract(CLI::App& app) {
  auto args = std::make_shared<ExtractArgs>();
  auto* sub = app.add_subcommand("extract", "Features and logits of a data set through a backbone (core engine)");
  sub->add_option("--model", args->options.model, "backbone ONNX (default: the bundle's)");
  sub->add_option("--bundle", args->options.bundle, "manifest.json: tensor names, preprocessing, labels");
  sub->add_option("--data", args->options.data,
                  "fashion-mnist:train|fashion-mnist:test|mnist:train|mnist:test|images:DIR (DIR/<class>/*.png|jpg)")
      ->required();
  sub->add_option("--out", args->out, "features file to write")->required();
  add_backbone_flags(*sub, args->options.flags);
  add_data_paths(*sub, args->options.paths);
  return [args]() {
    const train::FeatureSet set = train::extract_features(args->options);
    train::write_features(set, args->out);
    std::printf("wrote %s\n", args->out.c_str());
    return 0;
  };
}

}  // namespace iciia::cli
