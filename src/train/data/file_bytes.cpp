#include "train/data/file_bytes.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/error.h"

namespace iciia::train::data {

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(ErrorCode::kIo, "cannot open '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::kIo, "'" + path + "' is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    throw Error(ErrorCode::kLimit, "'" + path + "' has " + std::to_string(st.st_size) + " bytes, more than the " +
                                       std::to_string(max_bytes) + "-byte limit");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(ErrorCode::kIo, "cannot open '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  const size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
  const bool failed = std::ferror(f) != 0 || got != bytes.size();
  std::fclose(f);
  if (failed)
    throw Error(ErrorCode::kIo, "read error on '" + path + "' after " + std::to_string(got) + " of " +
                                    std::to_string(bytes.size()) + " bytes");
  return bytes;
}

std::vector<uint8_t> read_maybe_gzip(const std::string& path, uint64_t max_bytes) {
  std::vector<uint8_t> packed = read_file(path, max_bytes);
  if (packed.size() < 2 || packed[0] != 0x1f || packed[1] != 0x8b) return packed;

  z_stream z{};
  // 16 + MAX_WBITS: a gzip wrapper, not zlib's own.
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    throw Error(ErrorCode::kIo, "'" + path + "': zlib could not start inflating");
  z.next_in = packed.data();
  z.avail_in = static_cast<uInt>(std::min<size_t>(packed.size(), UINT32_MAX));
  std::vector<uint8_t> out;
  int rc = Z_OK;
  // Grow geometrically up to the bound: the gzip trailer's size field is
  // untrusted (and only mod 2^32), so it is never used to allocate.
  while (rc != Z_STREAM_END) {
    if (out.size() == z.total_out) {
      if (out.size() >= max_bytes) {
        inflateEnd(&z);
        throw Error(ErrorCode::kLimit, "'" + path + "' inflates to more than the " + std::to_string(max_bytes) +
                                           "-byte limit");
      }
      out.resize(static_cast<size_t>(std::min<uint64_t>(max_bytes, std::max<uint64_t>(out.size() * 2, 1 << 20))));
    }
    z.next_out = out.data() + z.total_out;
    z.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - z.total_out, UINT32_MAX));
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && z.avail_in == 0) rc = Z_DATA_ERROR;  // input ended mid-stream
    if (rc != Z_OK) {
      const uint64_t at = z.total_in;
      const bool truncated = z.avail_in == 0;
      const std::string reason = z.msg ? z.msg : "error " + std::to_string(rc);
      inflateEnd(&z);
      throw Error(ErrorCode::kFormat, "'" + path + "': " +
                                          (truncated ? "gzip stream is truncated (ends after " +
                                                           std::to_string(packed.size()) + " bytes)"
                                                     : "corrupt gzip data near compressed byte " +
                                                           std::to_string(at) + ": " + reason));
    }
  }
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

}  // namespace iciia::train::data
