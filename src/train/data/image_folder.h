// A folder of images per class: DIR/<class name>/*.png|*.jpg|*.jpeg (the
// extension in any case). Other files, and files directly in DIR, are
// ignored. Images keep their own size and channels (gray, RGB, RGBA; gray +
// alpha becomes RGBA): preprocess() resizes and converts them later.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "train/data/dataset.h"

namespace iciia::train::data {

// Decodes one PNG or JPEG. kFormat naming `name` when it is not a decodable
// image; kLimit when it has more than kMaxImagePixels pixels (checked from
// the header, before decoding).
Image decode_image(std::span<const uint8_t> bytes, const std::string& name);

// The classes are `class_names` when given (label = position; every
// subfolder must be one of them, missing ones are fine: a test folder may
// lack classes), else the subfolder names sorted. Files are read in name
// order, so the result is the same on every machine. kIo when DIR cannot be
// listed; kFormat for an unknown class folder, a class folder without images,
// or a folder without class folders.
Dataset read_image_folder(const std::string& dir, const std::vector<std::string>& class_names = {});

}  // namespace iciia::train::data
