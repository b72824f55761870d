#include "train/data/dataset.h"

#include <filesystem>

#include "train/data/idx.h"
#include "train/data/image_folder.h"
#include "train/data/mnist_json.h"
#include "util/error.h"

namespace iciia::train::data {

namespace {

// Debian ships the files gzipped; a raw copy beside them works as well.
std::string idx_file(const std::string& dir, const std::string& stem) {
  const std::string gz = dir + "/" + stem + ".gz";
  return std::filesystem::exists(gz) ? gz : dir + "/" + stem;
}

}  // namespace

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

Dataset load_dataset(const std::string& spec, const DataPaths& paths, const std::vector<std::string>& class_names) {
  if (spec == "fashion-mnist:train" || spec == "fashion-mnist:test") {
    const std::string prefix = spec == "fashion-mnist:train" ? "train" : "t10k";
    Dataset d = read_idx_dataset(idx_file(paths.fashion_mnist, prefix + "-images-idx3-ubyte"),
                                 idx_file(paths.fashion_mnist, prefix + "-labels-idx1-ubyte"),
                                 fashion_mnist_class_names(), 28, 28);
    d.source = spec;
    return d;
  }
  if (spec == "mnist:train") return read_mnist_package(paths.mnist, Split::kTrain);
  if (spec == "mnist:test") return read_mnist_package(paths.mnist, Split::kTest);
  if (spec.starts_with("images:") && spec.size() > 7) return read_image_folder(spec.substr(7), class_names);
  throw Error(ErrorCode::kInvalidArgument, "unknown data set '" + spec +
                                               "' (expected fashion-mnist:train, fashion-mnist:test, mnist:train, "
                                               "mnist:test or images:DIR)");
}

}  // namespace iciia::train::data
