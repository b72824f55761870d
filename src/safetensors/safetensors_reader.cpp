// Safetensors reader: validates an untrusted file before touching its data.
//
// The JSON header is consumed with nlohmann's SAX interface instead of being
// built into a DOM: the handler only accepts the shape of a safetensors
// header (object -> {object of strings | tensor entry}), so nesting depth and
// memory stay proportional to what a valid header needs, and duplicate keys
// (which a DOM would silently merge) are seen and rejected.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "safetensors/safetensors.h"
#include "util/error.h"
#include "util/half.h"
#include "util/text.h"

namespace iciia {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader assumes a little-endian host");

namespace {

using Json = nlohmann::json;

constexpr size_t kMaxQuotedChars = 160;

[[noreturn]] void fail(ErrorCode code, const std::string& message) {
  throw Error(code, "safetensors: " + message);
}

// A name or value for an error message: quoted, control bytes escaped and
// very long strings shortened, so a hostile header cannot flood the message.
std::string quote(std::string_view s) {
  std::string out = "'";
  const size_t n = std::min(s.size(), kMaxQuotedChars);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > n) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out + "'";
}

// Keeps only printable ASCII (for text that may carry raw header bytes).
std::string printable_ascii(std::string_view s) {
  std::string out;
  const size_t n = std::min(s.size(), size_t{400});
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > n) out += "...";
  return out;
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

// Element count of a shape; false if it does not fit in int64 (zero dims make
// the count 0, but the remaining dims must still multiply without overflow so
// that callers can multiply any subset of dims safely).
bool checked_numel(const std::vector<int64_t>& shape, uint64_t* numel) {
  uint64_t nonzero = 1;
  bool has_zero = false;
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (mul_overflows(nonzero, static_cast<uint64_t>(d), &nonzero)) return false;
    if (nonzero > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
  }
  *numel = has_zero ? 0 : nonzero;
  return true;
}

bool dtype_from_string(std::string_view s, SafetensorsDType* out) {
  static constexpr std::pair<std::string_view, SafetensorsDType> kNames[] = {
      {"F64", SafetensorsDType::kF64}, {"F32", SafetensorsDType::kF32}, {"F16", SafetensorsDType::kF16}, {"BF16", SafetensorsDType::kBF16},
      {"I64", SafetensorsDType::kI64}, {"I32", SafetensorsDType::kI32}, {"I16", SafetensorsDType::kI16}, {"I8", SafetensorsDType::kI8},
      {"U8", SafetensorsDType::kU8},   {"BOOL", SafetensorsDType::kBool},
  };
  for (const auto& [name, dtype] : kNames) {
    if (name == s) {
      *out = dtype;
      return true;
    }
  }
  return false;
}

struct ParsedHeader {
  uint64_t header_len = 0;
  uint64_t data_offset = 0;  // 8 + header_len
  uint64_t data_size = 0;    // bytes after the header
  uint64_t covered = 0;      // end of the last tensor (<= data_size)
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::string> metadata;
  std::map<std::string, size_t> index;
};

// SAX handler accepting exactly the structure of a safetensors header.
class HeaderHandler final : public nlohmann::json_sax<Json> {
 public:
  HeaderHandler(ParsedHeader* out, const SafetensorsLimits& limits) : out_(out), limits_(limits) {}

  bool done() const { return state_ == State::kDone; }

  bool null() override { return unexpected("null"); }
  bool boolean(bool) override { return unexpected("a boolean"); }
  bool binary(binary_t&) override { return unexpected("binary data"); }

  bool number_integer(number_integer_t v) override {
    if (v >= 0) return number_unsigned(static_cast<number_unsigned_t>(v));
    if (state_ == State::kShape)
      fail(ErrorCode::kFormat, tensor_ctx() + ": shape has negative dimension " + std::to_string(v) +
                                   " at index " + std::to_string(cur_.shape.size()));
    if (state_ == State::kOffsets)
      fail(ErrorCode::kFormat, tensor_ctx() + ": data_offsets has negative value " + std::to_string(v));
    return unexpected("a number");
  }

  bool number_unsigned(number_unsigned_t v) override {
    if (state_ == State::kShape) {
      if (cur_.shape.size() >= limits_.max_rank)
        fail(ErrorCode::kLimit, tensor_ctx() + ": rank exceeds the limit of " + std::to_string(limits_.max_rank));
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(ErrorCode::kFormat, tensor_ctx() + ": shape dimension " + std::to_string(v) + " at index " +
                                     std::to_string(cur_.shape.size()) + " does not fit in int64");
      cur_.shape.push_back(static_cast<int64_t>(v));
      return true;
    }
    if (state_ == State::kOffsets) {
      if (n_offsets_ >= 2)
        fail(ErrorCode::kFormat, tensor_ctx() + ": data_offsets must be [begin, end], got more than 2 values");
      offsets_[n_offsets_++] = v;
      return true;
    }
    return unexpected("a number");
  }

  bool number_float(number_float_t, const string_t& text) override {
    if (state_ == State::kShape)
      fail(ErrorCode::kFormat, tensor_ctx() + ": shape dimension " + quote(text) + " at index " +
                                   std::to_string(cur_.shape.size()) + " is not a non-negative integer");
    if (state_ == State::kOffsets)
      fail(ErrorCode::kFormat, tensor_ctx() + ": data_offsets value " + quote(text) +
                                   " is not a non-negative 64-bit integer");
    return unexpected("a number");
  }

  bool string(string_t& v) override {
    switch (state_) {
      case State::kMetaValue:
        out_->metadata.emplace(std::move(key_), std::move(v));
        state_ = State::kMeta;
        return true;
      case State::kEntryValue:
        if (field_ == Field::kDtype) {
          if (!dtype_from_string(v, &cur_.dtype))
            fail(ErrorCode::kUnsupported, tensor_ctx() + ": unsupported dtype " + quote(v) +
                                              " (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
          have_dtype_ = true;
          state_ = State::kEntry;
          return true;
        }
        return unexpected("a string");
      default:
        return unexpected("a string");
    }
  }

  bool start_object(std::size_t) override {
    switch (state_) {
      case State::kStart:
        state_ = State::kRoot;
        return true;
      case State::kRootValue:
        if (in_metadata_) {
          state_ = State::kMeta;
        } else {
          state_ = State::kEntry;
        }
        return true;
      default:
        return unexpected("an object");
    }
  }

  bool key(string_t& k) override {
    switch (state_) {
      case State::kRoot:
        if (k == "__metadata__") {
          if (seen_metadata_) fail(ErrorCode::kFormat, "header has more than one __metadata__ entry");
          seen_metadata_ = true;
          in_metadata_ = true;
        } else {
          if (out_->index.count(k)) fail(ErrorCode::kFormat, "duplicate tensor name " + quote(k));
          if (out_->tensors.size() >= limits_.max_tensors)
            fail(ErrorCode::kLimit, "more than " + std::to_string(limits_.max_tensors) +
                                        " tensors (limit reached at " + quote(k) + ")");
          in_metadata_ = false;
          cur_ = TensorInfo{};
          cur_.name = std::move(k);
          have_dtype_ = have_shape_ = have_offsets_ = false;
        }
        state_ = State::kRootValue;
        return true;
      case State::kMeta:
        if (out_->metadata.count(k)) fail(ErrorCode::kFormat, "__metadata__ has duplicate key " + quote(k));
        if (out_->metadata.size() >= limits_.max_metadata_entries)
          fail(ErrorCode::kLimit, "__metadata__ has more than " + std::to_string(limits_.max_metadata_entries) +
                                      " entries");
        key_ = std::move(k);
        state_ = State::kMetaValue;
        return true;
      case State::kEntry: {
        bool* have = nullptr;
        if (k == "dtype") {
          field_ = Field::kDtype;
          have = &have_dtype_;
        } else if (k == "shape") {
          field_ = Field::kShape;
          have = &have_shape_;
        } else if (k == "data_offsets") {
          field_ = Field::kOffsets;
          have = &have_offsets_;
        } else {
          fail(ErrorCode::kFormat, tensor_ctx() + ": unknown field " + quote(k) +
                                       " (expected dtype, shape, data_offsets)");
        }
        if (*have) fail(ErrorCode::kFormat, tensor_ctx() + ": duplicate field " + quote(k));
        state_ = State::kEntryValue;
        return true;
      }
      default:
        return unexpected("a key");  // not reachable with a conforming parser
    }
  }

  bool end_object() override {
    switch (state_) {
      case State::kRoot:
        state_ = State::kDone;
        return true;
      case State::kMeta:
        state_ = State::kRoot;
        return true;
      case State::kEntry:
        finish_tensor();
        state_ = State::kRoot;
        return true;
      default:
        return unexpected("end of object");
    }
  }

  bool start_array(std::size_t) override {
    if (state_ == State::kEntryValue && field_ == Field::kShape) {
      cur_.shape.clear();
      state_ = State::kShape;
      return true;
    }
    if (state_ == State::kEntryValue && field_ == Field::kOffsets) {
      n_offsets_ = 0;
      state_ = State::kOffsets;
      return true;
    }
    return unexpected("an array");
  }

  bool end_array() override {
    if (state_ == State::kShape) {
      have_shape_ = true;
      state_ = State::kEntry;
      return true;
    }
    if (state_ == State::kOffsets) {
      if (n_offsets_ != 2)
        fail(ErrorCode::kFormat, tensor_ctx() + ": data_offsets must be [begin, end], got " +
                                     std::to_string(n_offsets_) + " value(s)");
      cur_.begin = offsets_[0];
      cur_.end = offsets_[1];
      have_offsets_ = true;
      state_ = State::kEntry;
      return true;
    }
    return unexpected("end of array");
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    // position counts characters read, so the offending byte is position - 1.
    const uint64_t at = position ? position - 1 : 0;
    fail(ErrorCode::kFormat, "header is not valid JSON near header byte " + std::to_string(at) +
                                 " (file offset " + std::to_string(8 + at) + "): " + printable_ascii(ex.what()));
  }

 private:
  enum class State { kStart, kRoot, kRootValue, kMeta, kMetaValue, kEntry, kEntryValue, kShape, kOffsets, kDone };
  enum class Field { kDtype, kShape, kOffsets };

  std::string tensor_ctx() const { return "tensor " + quote(cur_.name); }

  static const char* field_name(Field f) {
    switch (f) {
      case Field::kDtype: return "dtype";
      case Field::kShape: return "shape";
      case Field::kOffsets: return "data_offsets";
    }
    return "?";
  }

  [[noreturn]] bool unexpected(const char* what) {
    switch (state_) {
      case State::kStart:
        fail(ErrorCode::kFormat, std::string("header must be a JSON object, got ") + what);
      case State::kRootValue:
        if (in_metadata_)
          fail(ErrorCode::kFormat, std::string("__metadata__ must be an object of string values, got ") + what);
        fail(ErrorCode::kFormat, tensor_ctx() + ": entry must be an object {dtype, shape, data_offsets}, got " + what);
      case State::kMetaValue:
        fail(ErrorCode::kFormat, "__metadata__ value for key " + quote(key_) + " must be a string, got " + what);
      case State::kEntryValue:
        switch (field_) {
          case Field::kDtype:
            fail(ErrorCode::kFormat, tensor_ctx() + ": dtype must be a string, got " + what);
          case Field::kShape:
            fail(ErrorCode::kFormat, tensor_ctx() + ": shape must be an array of integers, got " + what);
          case Field::kOffsets:
            fail(ErrorCode::kFormat, tensor_ctx() + ": data_offsets must be an array [begin, end], got " + what);
        }
        break;
      case State::kShape:
        fail(ErrorCode::kFormat, tensor_ctx() + ": shape must contain only non-negative integers, got " + what);
      case State::kOffsets:
        fail(ErrorCode::kFormat, tensor_ctx() + ": data_offsets must contain only non-negative integers, got " + what);
      default:
        break;
    }
    fail(ErrorCode::kFormat, std::string("unexpected ") + what + " in header");
  }

  // All fields of one entry are present: check it against itself, the limits
  // and the data section. Overlaps and gaps are checked once all are known.
  void finish_tensor() {
    const std::string ctx = tensor_ctx();
    if (!have_dtype_ || !have_shape_ || !have_offsets_) {
      const Field missing = !have_dtype_ ? Field::kDtype : !have_shape_ ? Field::kShape : Field::kOffsets;
      fail(ErrorCode::kFormat, ctx + ": missing field '" + field_name(missing) + "'");
    }
    const std::string where = "data_offsets [" + std::to_string(cur_.begin) + ", " + std::to_string(cur_.end) + "]";
    if (cur_.begin > cur_.end)
      fail(ErrorCode::kFormat, ctx + ": " + where + " has begin after end");
    uint64_t numel = 0, nbytes = 0;
    if (!checked_numel(cur_.shape, &numel) || mul_overflows(numel, dtype_size(cur_.dtype), &nbytes))
      fail(ErrorCode::kFormat, ctx + ": element count of shape " + dims_string(cur_.shape) + " overflows 64 bits");
    if (nbytes > limits_.max_tensor_bytes)
      fail(ErrorCode::kLimit, ctx + ": " + std::to_string(nbytes) + " bytes exceeds the per-tensor limit of " +
                                  std::to_string(limits_.max_tensor_bytes));
    if (nbytes != cur_.end - cur_.begin)
      fail(ErrorCode::kFormat, ctx + ": shape " + dims_string(cur_.shape) + " of " + dtype_name(cur_.dtype) +
                                   " needs " + std::to_string(nbytes) + " bytes but " + where + " spans " +
                                   std::to_string(cur_.end - cur_.begin));
    if (cur_.end > out_->data_size)
      fail(ErrorCode::kFormat, ctx + ": " + where + " ends past the data section, which has " +
                                   std::to_string(out_->data_size) + " bytes (file offset " +
                                   std::to_string(out_->data_offset) + " to " +
                                   std::to_string(out_->data_offset + out_->data_size) + ")");
    out_->index.emplace(cur_.name, out_->tensors.size());
    out_->tensors.push_back(std::move(cur_));
    cur_ = TensorInfo{};
  }

  ParsedHeader* out_;
  const SafetensorsLimits& limits_;
  State state_ = State::kStart;
  Field field_ = Field::kDtype;
  bool seen_metadata_ = false, in_metadata_ = false;
  bool have_dtype_ = false, have_shape_ = false, have_offsets_ = false;
  std::string key_;
  TensorInfo cur_;
  uint64_t offsets_[2] = {0, 0};
  int n_offsets_ = 0;
};

ParsedHeader parse_header(std::span<const uint8_t> bytes, const SafetensorsLimits& limits) {
  ParsedHeader out;
  if (bytes.size() < 8)
    fail(ErrorCode::kFormat, "file has " + std::to_string(bytes.size()) +
                                 " bytes, fewer than the 8-byte header length prefix");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<size_t>(i)];
  const uint64_t avail = bytes.size() - 8;
  if (n > avail)
    fail(ErrorCode::kFormat, "header length " + std::to_string(n) + " (bytes 0-7) runs past the end of the file (" +
                                 std::to_string(avail) + " bytes after the length prefix)");
  if (n > limits.max_header_bytes)
    fail(ErrorCode::kLimit, "header length " + std::to_string(n) + " exceeds the limit of " +
                                std::to_string(limits.max_header_bytes) + " bytes");
  out.header_len = n;
  out.data_offset = 8 + n;
  out.data_size = avail - n;

  const char* first = reinterpret_cast<const char*>(bytes.data() + 8);
  const char* last = first + n;
  if (n == 0 || first[0] != '{')
    fail(ErrorCode::kFormat, "header (file offset 8) must start with '{' (a JSON object)");

  // nlohmann's lexer takes a NUL byte for end of input, which would let
  // "{}\0<anything>" through; JSON has no place for a raw NUL anyway.
  if (const void* nul = std::memchr(first, 0, static_cast<size_t>(n))) {
    const uint64_t at = static_cast<uint64_t>(static_cast<const char*>(nul) - first);
    fail(ErrorCode::kFormat, "header is not valid JSON: NUL byte at header byte " + std::to_string(at) +
                                 " (file offset " + std::to_string(8 + at) + ")");
  }

  HeaderHandler handler(&out, limits);
  bool ok = false;
  try {
    ok = Json::sax_parse(first, last, &handler, Json::input_format_t::json, /*strict=*/true,
                         /*ignore_comments=*/false);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kFormat, std::string("header is not valid JSON: ") + printable_ascii(e.what()));
  }
  if (!ok || !handler.done()) fail(ErrorCode::kFormat, "header is not a complete JSON object");

  // Sorted by offset, the tensors must tile [0, covered) exactly.
  std::vector<const TensorInfo*> order;
  order.reserve(out.tensors.size());
  for (const auto& t : out.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : order) {
    if (t->begin < expected)
      fail(ErrorCode::kFormat, "tensor " + quote(t->name) + " (data_offsets [" + std::to_string(t->begin) + ", " +
                                   std::to_string(t->end) + "]) overlaps tensor " + quote(prev->name) +
                                   " (data_offsets [" + std::to_string(prev->begin) + ", " +
                                   std::to_string(prev->end) + "])");
    if (t->begin > expected)
      fail(ErrorCode::kFormat, "gap of " + std::to_string(t->begin - expected) + " bytes at data offset " +
                                   std::to_string(expected) + " (file offset " +
                                   std::to_string(out.data_offset + expected) + ") before tensor " +
                                   quote(t->name) + "; tensors must be contiguous from offset 0");
    expected = t->end;
    prev = t;
  }
  out.covered = expected;
  return out;
}

}  // namespace

const char* dtype_name(SafetensorsDType dtype) {
  switch (dtype) {
    case SafetensorsDType::kF64: return "F64";
    case SafetensorsDType::kF32: return "F32";
    case SafetensorsDType::kF16: return "F16";
    case SafetensorsDType::kBF16: return "BF16";
    case SafetensorsDType::kI64: return "I64";
    case SafetensorsDType::kI32: return "I32";
    case SafetensorsDType::kI16: return "I16";
    case SafetensorsDType::kI8: return "I8";
    case SafetensorsDType::kU8: return "U8";
    case SafetensorsDType::kBool: return "BOOL";
  }
  return "?";
}

size_t dtype_size(SafetensorsDType dtype) {
  switch (dtype) {
    case SafetensorsDType::kF64: return 8;
    case SafetensorsDType::kF32: return 4;
    case SafetensorsDType::kF16: return 2;
    case SafetensorsDType::kBF16: return 2;
    case SafetensorsDType::kI64: return 8;
    case SafetensorsDType::kI32: return 4;
    case SafetensorsDType::kI16: return 2;
    case SafetensorsDType::kI8: return 1;
    case SafetensorsDType::kU8: return 1;
    case SafetensorsDType::kBool: return 1;
  }
  return 0;
}

int64_t TensorInfo::numel() const {
  // Unsigned arithmetic: never UB, and exact for every tensor parse accepted.
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return static_cast<int64_t>(n);
}

Safetensors Safetensors::parse(std::span<const uint8_t> bytes, const SafetensorsLimits& limits) {
  ParsedHeader h = parse_header(bytes, limits);
  Safetensors st;
  // Keep the header and the tensor data; tolerated trailing bytes are dropped.
  st.data_.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(h.data_offset + h.covered));
  st.data_offset_ = h.data_offset;
  st.tensors_ = std::move(h.tensors);
  st.metadata_ = std::move(h.metadata);
  st.index_ = std::move(h.index);
  return st;
}

Safetensors Safetensors::from_owned(std::vector<uint8_t> bytes, const SafetensorsLimits& limits) {
  ParsedHeader h = parse_header(bytes, limits);
  bytes.resize(h.data_offset + h.covered);
  Safetensors st;
  st.data_ = std::move(bytes);
  st.data_offset_ = h.data_offset;
  st.tensors_ = std::move(h.tensors);
  st.metadata_ = std::move(h.metadata);
  st.index_ = std::move(h.index);
  return st;
}

Safetensors Safetensors::read_file(const std::string& path, const SafetensorsLimits& limits) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(ErrorCode::kIo, "safetensors: cannot open '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::kIo, "safetensors: '" + path + "' is not a regular file");
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > kMaxFileBytes)
    throw Error(ErrorCode::kLimit, "safetensors: '" + path + "' has " + std::to_string(st.st_size) +
                                       " bytes, more than the " + std::to_string(kMaxFileBytes) + "-byte limit");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(ErrorCode::kIo, "safetensors: cannot open '" + path + "': " + std::strerror(errno));
  const size_t size = static_cast<size_t>(st.st_size);
  std::vector<uint8_t> bytes(size);
  const size_t got = size ? std::fread(bytes.data(), 1, size, f) : 0;
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error || got != size)
    throw Error(ErrorCode::kIo, "safetensors: read error on '" + path + "' after " + std::to_string(got) + " of " +
                                    std::to_string(size) + " bytes");
  try {
    return from_owned(std::move(bytes), limits);
  } catch (const Error& e) {
    throw Error(e.code(), path + ": " + e.what());
  }
}

const TensorInfo* Safetensors::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& Safetensors::get(const std::string& name) const {
  if (const TensorInfo* t = find(name)) return *t;
  fail(ErrorCode::kFormat, "no tensor named " + quote(name) + " (file has " + std::to_string(tensors_.size()) +
                               " tensors)");
}

std::span<const uint8_t> Safetensors::bytes(const TensorInfo& t) const {
  const uint64_t data_size = data_.size() - data_offset_;
  if (t.begin > t.end || t.end > data_size)
    fail(ErrorCode::kInvalidArgument, "tensor " + quote(t.name) + ": data_offsets [" + std::to_string(t.begin) +
                                          ", " + std::to_string(t.end) + "] are outside this file's " +
                                          std::to_string(data_size) + "-byte data section");
  return std::span<const uint8_t>(data_.data() + data_offset_ + t.begin, static_cast<size_t>(t.end - t.begin));
}

std::vector<float> Safetensors::to_f32(const TensorInfo& t) const {
  switch (t.dtype) {
    case SafetensorsDType::kF32:
    case SafetensorsDType::kF16:
    case SafetensorsDType::kBF16:
    case SafetensorsDType::kF64:
      break;
    default:
      fail(ErrorCode::kUnsupported, "tensor " + quote(t.name) + ": cannot convert dtype " + dtype_name(t.dtype) +
                                        " to F32 (only F32, F16, BF16, F64)");
  }
  const std::span<const uint8_t> raw = bytes(t);
  const size_t esize = dtype_size(t.dtype);
  uint64_t numel = 0;
  if (!checked_numel(t.shape, &numel) || numel > raw.size() / esize || numel * esize != raw.size())
    fail(ErrorCode::kInvalidArgument, "tensor " + quote(t.name) + ": shape " + dims_string(t.shape) + " of " +
                                          dtype_name(t.dtype) + " does not match its " + std::to_string(raw.size()) +
                                          " data bytes");
  const size_t n = static_cast<size_t>(numel);
  std::vector<float> out(n);
  const uint8_t* p = raw.data();  // any alignment: read through memcpy only
  switch (t.dtype) {
    case SafetensorsDType::kF32:
      if (n) std::memcpy(out.data(), p, n * 4);
      break;
    case SafetensorsDType::kF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = f16_to_float(h);
      }
      break;
    case SafetensorsDType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = bf16_to_float(h);
      }
      break;
    case SafetensorsDType::kF64:
      for (size_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        out[i] = static_cast<float>(d);  // IEEE rounding; out-of-range values become +-inf
      }
      break;
    default:
      break;
  }
  return out;
}

std::vector<int32_t> Safetensors::to_i32(const TensorInfo& t) const {
  if (t.dtype != SafetensorsDType::kI32)
    fail(ErrorCode::kUnsupported, "tensor " + quote(t.name) + ": expected dtype I32, got " + dtype_name(t.dtype));
  const std::span<const uint8_t> raw = bytes(t);
  uint64_t numel = 0;
  if (!checked_numel(t.shape, &numel) || numel > raw.size() / 4 || numel * 4 != raw.size())
    fail(ErrorCode::kInvalidArgument, "tensor " + quote(t.name) + ": shape " + dims_string(t.shape) +
                                          " of I32 does not match its " + std::to_string(raw.size()) + " data bytes");
  std::vector<int32_t> out(static_cast<size_t>(numel));
  if (!out.empty()) std::memcpy(out.data(), raw.data(), out.size() * 4);
  return out;
}

}  // namespace iciia
