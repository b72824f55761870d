// The idx format of MNIST and Fashion-MNIST (big-endian): a 4-byte magic
// (0x00000803 = unsigned bytes, 3 dims; 0x00000801 = unsigned bytes, 1 dim),
// one uint32 per dimension, then the data.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "train/data/dataset.h"

namespace iciia::train::data {

struct IdxImages {
  int64_t count = 0;
  int rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // [count][rows][cols]
};

// `name` (the file) prefixes every error. kFormat for a wrong magic number, a
// zero or oversized dimension, or data shorter than the header declares
// (truncated); extra bytes after the data are an error too (a wrong file).
IdxImages parse_idx_images(std::span<const uint8_t> bytes, const std::string& name);
std::vector<uint8_t> parse_idx_labels(std::span<const uint8_t> bytes, const std::string& name);

// Reads an images file and a labels file (each gzipped or raw) into a
// Dataset of gray images. kFormat when the counts differ, a label is not a
// class id, or the images are not rows x cols (when those are non-zero).
Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         std::vector<std::string> class_names, int rows = 0, int cols = 0);

}  // namespace iciia::train::data
