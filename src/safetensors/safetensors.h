// Reading and writing safetensors files (https://github.com/huggingface/safetensors):
// 8-byte little-endian header length N, N bytes of JSON header, raw little-endian data.
//
// The input is untrusted: every length, offset and shape is checked against
// the buffer and against SafetensorsLimits before anything is allocated, and a
// violation throws iciia::Error (kFormat / kLimit / kUnsupported) naming the
// tensor and the byte offset concerned.
//
// Accepted layout (matches files written by huggingface/safetensors):
//   * the header must start with '{' and be one JSON object; trailing
//     whitespace (the spaces writers pad the header to a multiple of 8 with)
//     is accepted, anything else after the object is not;
//   * every key is unique (duplicate tensor names, duplicate `__metadata__`,
//     duplicate keys inside an entry are errors) and tensor entries have
//     exactly the fields dtype / shape / data_offsets;
//   * the tensors, sorted by offset, tile the data section from offset 0 with
//     no gaps and no overlaps (the official implementation's rule);
//     zero-sized tensors may share an offset with their neighbours;
//   * bytes after the last tensor's end are tolerated (the official reader
//     rejects them) and ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace iciia {

enum class SafetensorsDType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

const char* dtype_name(SafetensorsDType dtype);
size_t dtype_size(SafetensorsDType dtype);

struct SafetensorsLimits {
  uint64_t max_header_bytes = 16u << 20;   // JSON header
  uint64_t max_tensors = 1u << 16;
  uint64_t max_rank = 8;
  uint64_t max_tensor_bytes = 1ull << 32;  // any single tensor
  uint64_t max_metadata_entries = 1u << 16;  // keys in `__metadata__`
};

struct TensorInfo {
  std::string name;
  SafetensorsDType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // offset into the data section (after the header)
  uint64_t end = 0;
  int64_t numel() const;
};

// A parsed file. Owns a copy of the bytes, so views stay valid for its lifetime.
class Safetensors {
 public:
  static Safetensors parse(std::span<const uint8_t> bytes, const SafetensorsLimits& limits = {});
  static Safetensors read_file(const std::string& path, const SafetensorsLimits& limits = {});

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorInfo* find(const std::string& name) const;
  const TensorInfo& get(const std::string& name) const;  // throws kFormat if absent

  // Raw little-endian bytes of a tensor.
  std::span<const uint8_t> bytes(const TensorInfo& t) const;
  // Converts F32/F16/BF16/F64 to float; other dtypes throw kUnsupported.
  std::vector<float> to_f32(const TensorInfo& t) const;
  // I32 only (class labels); any other dtype throws kUnsupported rather than
  // silently narrowing.
  std::vector<int32_t> to_i32(const TensorInfo& t) const;

  // Largest file read_file accepts (kLimit beyond).
  static constexpr uint64_t kMaxFileBytes = 2ull << 30;

 private:
  std::vector<uint8_t> data_;  // whole file
  uint64_t data_offset_ = 0;   // 8 + header length
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, size_t> index_;  // name -> position in tensors_

  static Safetensors from_owned(std::vector<uint8_t> bytes, const SafetensorsLimits& limits);
};

// Builds a safetensors file. Tensors are written in insertion order.
class SafetensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value);
  void add_f32(const std::string& name, const std::vector<int64_t>& shape, std::span<const float> data);
  void add_i32(const std::string& name, const std::vector<int64_t>& shape, std::span<const int32_t> data);
  std::vector<uint8_t> serialize() const;
  void write_file(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    SafetensorsDType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;  // little-endian elements
  };
  // Checks name and shape against `count` values; throws kInvalidArgument.
  void check_entry(const std::string& name, const std::vector<int64_t>& shape, size_t count) const;
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace iciia
