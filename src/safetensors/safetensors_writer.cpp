// Safetensors writer: F32 and I32 tensors in insertion order, consecutive
// data_offsets, header padded with spaces to a multiple of 8 bytes (so the
// data section starts 8-aligned, as huggingface/safetensors does).
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "safetensors/safetensors.h"
#include "util/error.h"

namespace iciia {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this writer assumes a little-endian host");

namespace {

using OrderedJson = nlohmann::ordered_json;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "safetensors writer: " + message);
}

// JSON-quoted form of s for messages (invalid UTF-8 shown as U+FFFD).
std::string quoted(const std::string& s) {
  return OrderedJson(s).dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

// The header is JSON, which must be UTF-8: reject anything else up front so
// serialize() cannot fail half-way.
void require_utf8(const std::string& s, const std::string& what) {
  try {
    (void)OrderedJson(s).dump();
  } catch (const nlohmann::json::exception&) {
    invalid(what + " " + quoted(s) + " is not valid UTF-8");
  }
}

}  // namespace

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  require_utf8(key, "metadata key");
  require_utf8(value, "metadata value for key " + quoted(key));
  metadata_[key] = value;
}

void SafetensorsWriter::check_entry(const std::string& name, const std::vector<int64_t>& shape,
                                    size_t count) const {
  if (name == "__metadata__") invalid("'__metadata__' is reserved and cannot name a tensor");
  require_utf8(name, "tensor name");
  for (const Entry& e : entries_)
    if (e.name == name) invalid("duplicate tensor name " + quoted(name));
  uint64_t numel = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t d = shape[i];
    if (d < 0) invalid("tensor " + quoted(name) + ": negative dimension " + std::to_string(d) + " at index " +
                       std::to_string(i));
    if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d))
      invalid("tensor " + quoted(name) + ": element count of the shape overflows 64 bits");
    numel *= static_cast<uint64_t>(d);
  }
  if (numel != count)
    invalid("tensor " + quoted(name) + ": shape holds " + std::to_string(numel) + " elements but " +
            std::to_string(count) + " values were given");
}

void SafetensorsWriter::add_f32(const std::string& name, const std::vector<int64_t>& shape,
                                std::span<const float> data) {
  check_entry(name, shape, data.size());
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  entries_.push_back(Entry{name, SafetensorsDType::kF32, shape, std::vector<uint8_t>(p, p + data.size_bytes())});
}

void SafetensorsWriter::add_i32(const std::string& name, const std::vector<int64_t>& shape,
                                std::span<const int32_t> data) {
  check_entry(name, shape, data.size());
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  entries_.push_back(Entry{name, SafetensorsDType::kI32, shape, std::vector<uint8_t>(p, p + data.size_bytes())});
}

std::vector<uint8_t> SafetensorsWriter::serialize() const {
  OrderedJson header = OrderedJson::object();
  if (!metadata_.empty()) {
    OrderedJson meta = OrderedJson::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const Entry& e : entries_) {
    const uint64_t nbytes = e.bytes.size();
    OrderedJson entry = OrderedJson::object();
    entry["dtype"] = dtype_name(e.dtype);
    entry["shape"] = e.shape;
    entry["data_offsets"] = OrderedJson::array({offset, offset + nbytes});
    header[e.name] = std::move(entry);
    offset += nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + static_cast<size_t>(offset));
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  for (const Entry& e : entries_) out.insert(out.end(), e.bytes.begin(), e.bytes.end());
  return out;
}

void SafetensorsWriter::write_file(const std::string& path) const {
  const std::vector<uint8_t> bytes = serialize();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw Error(ErrorCode::kIo, "safetensors: cannot create '" + path + "': " + std::strerror(errno));
  const size_t wrote = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool write_error = wrote != bytes.size() || std::ferror(f) != 0;
  const bool close_error = std::fclose(f) != 0;
  if (write_error || close_error)
    throw Error(ErrorCode::kIo, "safetensors: write error on '" + path + "' after " + std::to_string(wrote) +
                                    " of " + std::to_string(bytes.size()) + " bytes");
}

}  // namespace iciia
