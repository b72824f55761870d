#include "train/data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

// stb_image as private code of this file: static functions, so no other
// translation unit (or library) that also embeds stb can clash with it.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#include <stb/stb_image.h>

#include "train/data/file_bytes.h"
#include "util/error.h"

namespace iciia::train::data {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxImageFileBytes = 64ull << 20;
constexpr size_t kMaxImages = size_t{1} << 20;

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<fs::path> sorted_entries(const fs::path& dir, bool directories) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw Error(ErrorCode::kIo, "cannot list '" + dir.string() + "': " + ec.message());
  for (const auto& entry : it) {
    if (directories ? entry.is_directory() : (entry.is_regular_file() && is_image_file(entry.path())))
      out.push_back(entry.path());
    if (out.size() > kMaxImages)
      throw Error(ErrorCode::kLimit, "'" + dir.string() + "' has more than " + std::to_string(kMaxImages) + " entries");
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Image decode_image(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX))
    throw Error(ErrorCode::kLimit, name + ": " + std::to_string(bytes.size()) + " bytes is too large an image file");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &comp))
    throw Error(ErrorCode::kFormat, name + ": not a PNG or JPEG image (" + stbi_failure_reason() + ")");
  if (w <= 0 || h <= 0 || w > kMaxImageSide || h > kMaxImageSide ||
      static_cast<int64_t>(w) * h > kMaxImagePixels)
    throw Error(ErrorCode::kLimit, name + ": " + std::to_string(w) + "x" + std::to_string(h) +
                                       " pixels is outside the accepted size (sides up to " +
                                       std::to_string(kMaxImageSide) + ", " + std::to_string(kMaxImagePixels) +
                                       " pixels)");
  const int want = comp == 2 ? 4 : comp;
  int got_comp = 0;
  stbi_uc* pixels = stbi_load_from_memory(data, len, &w, &h, &got_comp, want);
  if (!pixels) throw Error(ErrorCode::kFormat, name + ": cannot decode (" + stbi_failure_reason() + ")");
  Image im{w, h, want, {}};
  im.pixels.assign(pixels, pixels + static_cast<size_t>(w) * h * want);
  stbi_image_free(pixels);
  return im;
}

Dataset read_image_folder(const std::string& dir, const std::vector<std::string>& class_names) {
  Dataset out;
  out.source = "images:" + dir;
  const std::vector<fs::path> folders = sorted_entries(dir, /*directories=*/true);
  if (folders.empty())
    throw Error(ErrorCode::kFormat, "'" + dir + "' has no class folders (expected DIR/<class name>/*.png|jpg)");
  std::map<std::string, int32_t> ids;
  if (class_names.empty()) {
    for (const auto& f : folders) out.class_names.push_back(f.filename().string());
  } else {
    out.class_names = class_names;
  }
  for (size_t i = 0; i < out.class_names.size(); ++i)
    if (!ids.emplace(out.class_names[i], static_cast<int32_t>(i)).second)
      throw Error(ErrorCode::kInvalidArgument, "class name '" + out.class_names[i] + "' is listed twice");

  for (const auto& folder : folders) {
    const std::string cls = folder.filename().string();
    const auto id = ids.find(cls);
    if (id == ids.end()) {
      std::string known;
      for (size_t i = 0; i < out.class_names.size() && i < 20; ++i) known += (i ? ", " : "") + out.class_names[i];
      if (out.class_names.size() > 20) known += ", ...";
      throw Error(ErrorCode::kFormat, "'" + folder.string() + "': '" + cls + "' is not one of the " +
                                          std::to_string(out.class_names.size()) + " classes (" + known + ")");
    }
    const std::vector<fs::path> files = sorted_entries(folder, /*directories=*/false);
    if (files.empty())
      throw Error(ErrorCode::kFormat, "class folder '" + folder.string() + "' has no .png or .jpg images");
    if (out.images.size() + files.size() > kMaxImages)
      throw Error(ErrorCode::kLimit, "'" + dir + "' has more than " + std::to_string(kMaxImages) + " images");
    for (const auto& file : files) {
      out.images.push_back(decode_image(read_file(file.string(), kMaxImageFileBytes), file.string()));
      out.labels.push_back(id->second);
    }
  }
  return out;
}

}  // namespace iciia::train::data
