// PNG encoding (the bundle's sample images, and test inputs for the readers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/data/dataset.h"

namespace iciia::train::data {

// kInvalidArgument when the image's pixels do not match its size and channels.
std::vector<uint8_t> encode_png(const Image& image);
// kIo naming the path when it cannot be written.
void write_png(const Image& image, const std::string& path);

}  // namespace iciia::train::data
