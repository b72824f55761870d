// Whole-file reads for the data readers: bounded, and transparently gunzipped
// when the file starts with the gzip magic (Debian ships the idx files of
// Fashion-MNIST gzipped; the same readers take the raw files too).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iciia::train::data {

// Throws kIo when the file cannot be read, kLimit when it (or what it
// inflates to) exceeds max_bytes, kFormat naming the file for a corrupt or
// truncated gzip stream.
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes);
std::vector<uint8_t> read_maybe_gzip(const std::string& path, uint64_t max_bytes);

}  // namespace iciia::train::data
