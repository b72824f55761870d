// iciia bundle --backbone F.onnx --iciia W.safetensors --out DIR [--labels L] [--samples N --data SPEC] ...
#include <cstdio>

#include "cli/commands.h"
#include "train/bundle/bundle.h"

namespace iciia::cli {

namespace {
struct BundleArgs {
  train::BundleOptions options;
  std::string preprocess;
};
}  // namespace

Run add_bundle(CLI::App& app) {
  auto args = std::make_shared<BundleArgs>();
  auto& o = args->options;
  auto* sub = app.add_subcommand("bundle", "Write a model bundle: manifest.json, weights, labels, sample images");
  sub->add_option("--backbone", o.backbone, "backbone ONNX")->required();
  sub->add_option("--iciia", o.iciia, "ICIIA weights (safetensors)")->required();
  sub->add_option("--labels", o.labels,
                  "labels.txt (one per line) or a features file (its class names); default: the backbone's own");
  sub->add_option("--out", o.out, "bundle folder")->required();
  sub->add_option("--name", o.name, "bundle name")->capture_default_str();
  sub->add_option("--preprocess", args->preprocess, "preprocessing JSON as in a manifest (default: the backbone's)");
  sub->add_option("--capacity", o.capacity, "history capacity")->capture_default_str();
  sub->add_option("--samples", o.samples, "sample images to include, balanced across classes")->capture_default_str();
  sub->add_option("--data", o.data, "where samples come from")->capture_default_str();
  sub->add_option("--seed", o.seed, "seed of the sample draw")->capture_default_str();
  add_data_paths(*sub, o.paths);
  return [args]() {
    if (!args->preprocess.empty()) args->options.preprocess = parse_preprocess(args->preprocess, "--preprocess");
    const BundleManifest m = train::write_bundle(args->options);
    std::printf("wrote %s/manifest.json: backbone %s, iciia %s, %zu labels%s\n", args->options.out.c_str(),
                m.backbone.sha256.substr(0, 12).c_str(), m.iciia ? m.iciia->sha256.substr(0, 12).c_str() : "none",
                m.labels.size(),
                m.samples.empty() ? "" : ", samples");
    return 0;
  };
}

}  // namespace iciia::cli
