#include "train/data/mnist_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "train/data/file_bytes.h"
#include "util/error.h"

namespace iciia::train::data {

namespace {

constexpr int kSide = 28;
constexpr size_t kPixels = kSide * kSide;
// Each digit file of the package is about 2.3 MB.
constexpr uint64_t kMaxFileBytes = 64ull << 20;

[[noreturn]] void bad(const std::string& name, const std::string& message) {
  throw Error(ErrorCode::kFormat, name + ": " + message);
}

}  // namespace

std::vector<Image> parse_mnist_digit(std::span<const uint8_t> json, const std::string& name) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) bad(name, "not valid JSON");
  if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array())
    bad(name, "expected an object with a \"data\" array");
  const auto& data = doc["data"];
  if (data.size() % kPixels != 0)
    bad(name, "\"data\" has " + std::to_string(data.size()) + " values, not a whole number of " +
                  std::to_string(kSide) + "x" + std::to_string(kSide) + " images (" + std::to_string(kPixels) +
                  " values each)");
  std::vector<Image> images(data.size() / kPixels);
  for (size_t i = 0; i < images.size(); ++i) {
    Image& im = images[i];
    im.width = im.height = kSide;
    im.channels = 1;
    im.pixels.resize(kPixels);
    for (size_t p = 0; p < kPixels; ++p) {
      const auto& v = data[i * kPixels + p];
      const double x = v.is_number() ? v.get<double>() : NAN;
      if (!(x >= 0.0 && x <= 1.0))
        bad(name, "\"data\"[" + std::to_string(i * kPixels + p) + "] (image " + std::to_string(i) + ", pixel " +
                      std::to_string(p) + ") is " + v.dump() + ", not a number in [0, 1]");
      im.pixels[p] = static_cast<uint8_t>(std::lround(x * 255.0));
    }
  }
  return images;
}

Dataset read_mnist_package(const std::string& package_dir, Split split) {
  Dataset out;
  out.source = std::string("mnist:") + (split == Split::kTrain ? "train" : "test");
  for (int digit = 0; digit < 10; ++digit) {
    out.class_names.push_back(std::to_string(digit));
    const std::string path = package_dir + "/src/digits/" + std::to_string(digit) + ".json";
    std::vector<Image> images = parse_mnist_digit(read_file(path, kMaxFileBytes), path);
    const size_t n_train = images.size() * 4 / 5;
    if (n_train == 0 || n_train == images.size())
      bad(path, "digit " + std::to_string(digit) + " has " + std::to_string(images.size()) +
                    " images, too few for both a train and a test part");
    const size_t begin = split == Split::kTrain ? 0 : n_train;
    const size_t end = split == Split::kTrain ? n_train : images.size();
    for (size_t i = begin; i < end; ++i) {
      out.images.push_back(std::move(images[i]));
      out.labels.push_back(digit);
    }
  }
  return out;
}

}  // namespace iciia::train::data
