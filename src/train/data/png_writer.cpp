#include "train/data/png_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

// Private to this file (static functions), like stb_image in image_folder.cpp.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

#include "util/error.h"

namespace iciia::train::data {

std::vector<uint8_t> encode_png(const Image& image) {
  if (image.width <= 0 || image.height <= 0 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
    throw Error(ErrorCode::kInvalidArgument, "png: " + std::to_string(image.width) + "x" +
                                                 std::to_string(image.height) + "x" + std::to_string(image.channels) +
                                                 " image with " + std::to_string(image.pixels.size()) + " bytes");
  std::vector<uint8_t> out;
  auto sink = [](void* context, void* data, int size) {
    auto* bytes = static_cast<std::vector<uint8_t>*>(context);
    bytes->insert(bytes->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  if (!stbi_write_png_to_func(sink, &out, image.width, image.height, image.channels, image.pixels.data(),
                              image.width * image.channels))
    throw Error(ErrorCode::kInvalidArgument, "png: encoding failed");
  return out;
}

void write_png(const Image& image, const std::string& path) {
  const std::vector<uint8_t> bytes = encode_png(image);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw Error(ErrorCode::kIo, "cannot create '" + path + "': " + std::strerror(errno));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) throw Error(ErrorCode::kIo, "write error on '" + path + "'");
}

}  // namespace iciia::train::data
