// iciia bundle --backbone F.onnx [--iciia W.safetensors] --out DIR [--labels L] [--data SPEC [--samples N]]
//              [--preprocess imagenet|JSON] [--features NAME --logits NAME] [--source-prior MODE] ...
#include <cstdio>

#include "cli/commands.h"
#include "train/bundle/bundle.h"

namespace iciia::cli {

namespace {
struct BundleArgs {
  train::BundleOptions options;
  std::string source_prior = "auto", iciia_attention = "full";
};
}  // namespace

Run add_bundle(CLI::App& app) {
  auto args = std::make_shared<BundleArgs>();
  auto& o = args->options;
  auto* sub = app.add_subcommand("bundle", "Write a model bundle: manifest.json, weights, labels, sample images");
  sub->add_option("--backbone", o.backbone, "backbone ONNX")->required();
  sub->add_option("--iciia", o.iciia,
                  "ICIIA weights (safetensors); without them the bundle adapts by prior correction");
  sub->add_option("--iciia-heads", o.iciia_hyper.heads,
                  "heads h of ICIIA weights saved without __metadata__ (a bare state_dict of the paper's module)")
      ->capture_default_str();
  sub->add_option("--iciia-attention", args->iciia_attention, "full or causal, for weights without __metadata__")
      ->check(CLI::IsMember({"full", "causal"}))
      ->capture_default_str();
  sub->add_flag("!--iciia-no-shuffle", o.iciia_hyper.shuffle,
                "weights without __metadata__ were trained without the channel shuffle (g > 1)");
  sub->add_option("--labels", o.labels,
                  "labels.txt (one per line) or a features file (its class names); default: the backbone's own, "
                  "else the class folders of --data images:DIR (sorted, as torchvision's ImageFolder)");
  sub->add_option("--out", o.out, "bundle folder")->required();
  sub->add_option("--name", o.name, "bundle name")->capture_default_str();
  add_backbone_flags(*sub, o.flags);
  sub->add_option("--capacity", o.capacity, "history capacity")->capture_default_str();
  sub->add_option("--data", o.data,
                  "labelled images (fashion-mnist:test, images:DIR, ...): sample images and the source prior");
  sub->add_option("--samples", o.samples, "sample images to include from --data, balanced across classes")
      ->capture_default_str();
  sub->add_option("--source-prior", args->source_prior,
                  "the class frequencies the backbone was trained under, for prior correction: frequencies (of "
                  "--data's labels), softmax (the backbone's mean softmax over --data), uniform, or auto "
                  "(frequencies with --data, else uniform)")
      ->check(CLI::IsMember({"auto", "uniform", "frequencies", "softmax"}))
      ->capture_default_str();
  sub->add_option("--seed", o.seed, "seed of the sample draw")->capture_default_str();
  add_data_paths(*sub, o.paths);
  return [args]() {
    args->options.source_prior = train::parse_source_prior(args->source_prior);
    args->options.iciia_hyper.attention =
        args->iciia_attention == "causal" ? AttentionMode::kCausal : AttentionMode::kFull;
    const BundleManifest m = train::write_bundle(args->options);
    std::printf("wrote %s/manifest.json: backbone %s (input '%s', features '%s', logits '%s'), iciia %s, %zu labels%s\n",
                args->options.out.c_str(), m.backbone.sha256.substr(0, 12).c_str(), m.input.c_str(),
                m.features.c_str(), m.logits.c_str(), m.iciia ? m.iciia->sha256.substr(0, 12).c_str() : "none",
                m.labels.size(), m.samples.empty() ? "" : ", samples");
    std::printf("default adaptation: %s%s; source prior: %s\n", adaptation_name(m.default_adaptation()),
                m.iciia ? "" : " (no ICIIA weights: prior correction)",
                m.source_prior.empty() ? "uniform" : ("measured on " + args->options.data).c_str());
    return 0;
  };
}

}  // namespace iciia::cli
