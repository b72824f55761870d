// Subcommands of the `iciia` tool. Each registers its options on the app and
// returns the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "train/data/dataset.h"

namespace iciia::train {
struct BackboneFlags;  // train/bundle/bundle.h (kept out of every subcommand's includes)
}

namespace iciia::cli {

using Run = std::function<int()>;

Run add_forward(CLI::App& app);
Run add_infer(CLI::App& app);
Run add_extract(CLI::App& app);
Run add_bundle(CLI::App& app);
// Training (need libtorch; without it they say so and exit 2).
Run add_train_backbone(CLI::App& app);
Run add_train(CLI::App& app);
Run add_eval(CLI::App& app);

// --fashion-mnist-dir and --mnist-dir, where the named data sets live.
void add_data_paths(CLI::App& sub, train::data::DataPaths& paths);
// --preprocess, --input, --features, --logits: what a backbone that does not
// describe itself needs (or overrides of what it says).
void add_backbone_flags(CLI::App& sub, train::BackboneFlags& flags);

}  // namespace iciia::cli
