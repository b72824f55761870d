// iciia train-backbone --data fashion-mnist|mnist --out backbone.onnx [--seed N] [--epochs N] ...
#include "cli/commands.h"
#include "cli/train_args.h"
#include "train/backbone/train_backbone.h"

namespace iciia::cli {

Run add_train_backbone(CLI::App& app) {
  auto opt = std::make_shared<train::TrainBackboneOptions>();
  auto* sub = app.add_subcommand("train-backbone", "Train the compact CNN backbone and export it to ONNX (libtorch)");
  sub->add_option("--data", opt->data, "fashion-mnist or mnist")->capture_default_str();
  sub->add_option("--out", opt->out, "ONNX file to write")->capture_default_str();
  sub->add_option("--seed", opt->seed, "random seed (weights, order, augmentation)")->capture_default_str();
  sub->add_option("--epochs", opt->epochs, "passes over the training set")->capture_default_str();
  sub->add_option("--batch", opt->batch, "batch size")->capture_default_str();
  sub->add_option("--lr", opt->lr, "peak learning rate")->capture_default_str();
  sub->add_option("--threads", opt->threads, "libtorch threads (fixed: results depend on it)")->capture_default_str();
  sub->add_option("--feature-dim", opt->feature_dim, "width of the features layer")->capture_default_str();
  sub->add_option("--style-augment", opt->style_augment,
                  "probability that a training image is shown under a random appearance style (iciia extract --styles' family)")
      ->capture_default_str();
  add_data_paths(*sub, opt->paths);
  return [opt]() {
#ifdef ICIIA_HAVE_TORCH
    train::train_backbone(*opt);
    return 0;
#else
    return training_unavailable("train-backbone");
#endif
  };
}

}  // namespace iciia::cli
