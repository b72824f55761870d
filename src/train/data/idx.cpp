#include "train/data/idx.h"

#include <cstdio>
#include <tuple>

#include "train/data/file_bytes.h"
#include "util/error.h"

namespace iciia::train::data {

namespace {

constexpr uint32_t kImagesMagic = 0x00000803, kLabelsMagic = 0x00000801;
constexpr uint32_t kMaxSide = 4096;
// Fashion-MNIST's training images are 47 MB; a tenfold margin for other
// data sets in the same format.
constexpr uint64_t kMaxFileBytes = 512ull << 20;

[[noreturn]] void bad(const std::string& name, const std::string& message) {
  throw Error(ErrorCode::kFormat, name + ": " + message);
}

uint32_t be32(std::span<const uint8_t> b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | b[at + 3];
}

std::string hex32(uint32_t v) {
  char s[11];
  std::snprintf(s, sizeof s, "0x%08x", v);
  return s;
}

// Checks magic and header length; returns the header size in bytes.
size_t check_header(std::span<const uint8_t> bytes, const std::string& name, uint32_t magic, const char* what) {
  const size_t header = 4 + 4 * (magic & 0xff);
  if (bytes.size() < 4) bad(name, "truncated: " + std::to_string(bytes.size()) + " bytes, no idx magic number");
  if (be32(bytes, 0) != magic)
    bad(name, "byte 0: magic number " + hex32(be32(bytes, 0)) + " is not that of an idx " + what + " file (" +
                  hex32(magic) + ")");
  if (bytes.size() < header)
    bad(name, "truncated: the header needs " + std::to_string(header) + " bytes, the file has " +
                  std::to_string(bytes.size()));
  return header;
}

void check_data_size(std::span<const uint8_t> bytes, const std::string& name, size_t header, uint64_t need,
                     const std::string& declared) {
  const uint64_t have = bytes.size() - header;
  if (have < need)
    bad(name, "truncated: the header declares " + declared + " = " + std::to_string(need) + " bytes after the " +
                  std::to_string(header) + "-byte header, the file has " + std::to_string(have));
  if (have > need)
    bad(name, std::to_string(have - need) + " unexpected bytes after the " + declared + " the header declares (byte " +
                  std::to_string(header + need) + " on)");
}

}  // namespace

IdxImages parse_idx_images(std::span<const uint8_t> bytes, const std::string& name) {
  const size_t header = check_header(bytes, name, kImagesMagic, "images (3-dim, unsigned byte)");
  IdxImages out;
  const uint32_t count = be32(bytes, 4), rows = be32(bytes, 8), cols = be32(bytes, 12);
  for (const auto& [value, field, at] : {std::tuple{rows, "rows", 8}, std::tuple{cols, "columns", 12}})
    if (value == 0 || value > kMaxSide)
      bad(name, "byte " + std::to_string(at) + ": " + field + " " + std::to_string(value) + " outside [1, " +
                    std::to_string(kMaxSide) + "]");
  // count * rows * cols < 2^32 * 2^24: no overflow in 64 bits.
  const uint64_t need = uint64_t{count} * rows * cols;
  check_data_size(bytes, name, header, need,
                  std::to_string(count) + " images of " + std::to_string(rows) + "x" + std::to_string(cols));
  out.count = count;
  out.rows = static_cast<int>(rows);
  out.cols = static_cast<int>(cols);
  out.pixels.assign(bytes.begin() + header, bytes.end());
  return out;
}

std::vector<uint8_t> parse_idx_labels(std::span<const uint8_t> bytes, const std::string& name) {
  const size_t header = check_header(bytes, name, kLabelsMagic, "labels (1-dim, unsigned byte)");
  const uint32_t count = be32(bytes, 4);
  check_data_size(bytes, name, header, count, std::to_string(count) + " labels");
  return std::vector<uint8_t>(bytes.begin() + header, bytes.end());
}

Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         std::vector<std::string> class_names, int rows, int cols) {
  const IdxImages images = parse_idx_images(read_maybe_gzip(images_path, kMaxFileBytes), images_path);
  const std::vector<uint8_t> labels = parse_idx_labels(read_maybe_gzip(labels_path, kMaxFileBytes), labels_path);
  if (static_cast<int64_t>(labels.size()) != images.count)
    bad(labels_path, std::to_string(labels.size()) + " labels for the " + std::to_string(images.count) +
                         " images of " + images_path);
  if ((rows && images.rows != rows) || (cols && images.cols != cols))
    bad(images_path, "images are " + std::to_string(images.rows) + "x" + std::to_string(images.cols) +
                         " (rows x columns), this data set's are " + std::to_string(rows) + "x" +
                         std::to_string(cols));
  Dataset out;
  out.class_names = std::move(class_names);
  const size_t pixels = static_cast<size_t>(images.rows) * images.cols;
  out.images.reserve(labels.size());
  out.labels.reserve(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= out.class_names.size())
      bad(labels_path, "byte " + std::to_string(8 + i) + ": label " + std::to_string(labels[i]) + " of image " +
                           std::to_string(i) + " is not a class id (" + std::to_string(out.class_names.size()) +
                           " classes)");
    Image im{images.cols, images.rows, 1, {}};
    im.pixels.assign(images.pixels.begin() + i * pixels, images.pixels.begin() + (i + 1) * pixels);
    out.images.push_back(std::move(im));
    out.labels.push_back(labels[i]);
  }
  return out;
}

}  // namespace iciia::train::data
