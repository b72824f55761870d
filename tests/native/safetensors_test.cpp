// Safetensors reader/writer: round trips, the reference files, dtype
// conversion against hand-built bytes, and every malformed-input rule.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "safetensors/safetensors.h"
#include "test_support.h"
#include "util/error.h"

namespace iciia {
namespace {

using Bytes = std::vector<uint8_t>;

// 8-byte little-endian length + header text + data.
Bytes make_file(const std::string& header, const Bytes& data = {}) {
  Bytes out;
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A header object from entries, joined with commas.
std::string obj(std::initializer_list<std::string> entries) {
  std::string out = "{";
  for (const auto& e : entries) {
    if (out.size() > 1) out += ',';
    out += e;
  }
  out += '}';
  return out;
}

Bytes zeros(size_t n) { return Bytes(n, 0); }

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t begin,
                  uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

template <typename T>
void append_le(Bytes& b, T v) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));
  b.insert(b.end(), raw, raw + sizeof(T));
}

// Parses and expects an iciia::Error with the given code whose message
// contains every one of `needles`.
void expect_error(const Bytes& file, ErrorCode code, std::initializer_list<std::string> needles,
                  const SafetensorsLimits& limits = {}) {
  try {
    Safetensors::parse(file, limits);
    ADD_FAILURE() << "expected " << error_code_name(code) << ", parse succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << "got " << error_code_name(e.code()) << ": " << e.what();
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "message lacks '" << n << "': " << e.what();
  }
}

void expect_header_error(const std::string& header, size_t data_size, ErrorCode code,
                         std::initializer_list<std::string> needles, const SafetensorsLimits& limits = {}) {
  SCOPED_TRACE(header);
  expect_error(make_file(header, zeros(data_size)), code, needles, limits);
}

// ---------------------------------------------------------------------------
// Writer -> parser
// ---------------------------------------------------------------------------

TEST(Safetensors, RoundTripShapesValuesAndMetadata) {
  const std::vector<float> a = test::random_floats(6, 1);
  const std::vector<float> b = test::random_floats(5, 2);
  const float scalar[] = {-3.25f};
  SafetensorsWriter w;
  w.set_metadata("format", "iciia/1");
  w.set_metadata("dim", "64");
  w.add_f32("layer.a", {2, 3}, a);
  w.add_f32("scalar", {}, scalar);
  w.add_f32("empty", {4, 0, 2}, std::span<const float>());
  w.add_f32("b", {5}, b);
  const Bytes bytes = w.serialize();

  const Safetensors st = Safetensors::parse(bytes);
  EXPECT_EQ(st.metadata(), (std::map<std::string, std::string>{{"format", "iciia/1"}, {"dim", "64"}}));
  ASSERT_EQ(st.tensors().size(), 4u);
  // Insertion order, consecutive offsets.
  const char* names[] = {"layer.a", "scalar", "empty", "b"};
  const std::vector<std::vector<int64_t>> shapes = {{2, 3}, {}, {4, 0, 2}, {5}};
  uint64_t offset = 0;
  for (size_t i = 0; i < 4; ++i) {
    const TensorInfo& t = st.tensors()[i];
    EXPECT_EQ(t.name, names[i]);
    EXPECT_EQ(t.dtype, SafetensorsDType::kF32);
    EXPECT_EQ(t.shape, shapes[i]);
    EXPECT_EQ(t.begin, offset);
    EXPECT_EQ(t.end, offset + 4 * static_cast<uint64_t>(t.numel()));
    offset = t.end;
  }
  EXPECT_EQ(st.get("layer.a").numel(), 6);
  EXPECT_EQ(st.get("scalar").numel(), 1);
  EXPECT_EQ(st.get("empty").numel(), 0);
  EXPECT_EQ(st.to_f32(st.get("layer.a")), a);
  EXPECT_EQ(st.to_f32(st.get("b")), b);
  EXPECT_EQ(st.to_f32(st.get("scalar")), std::vector<float>{-3.25f});
  EXPECT_TRUE(st.to_f32(st.get("empty")).empty());
  EXPECT_EQ(st.bytes(st.get("empty")).size(), 0u);

  // Header length is a multiple of 8 and the padding is spaces.
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<size_t>(i)];
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 4 * (6 + 1 + 0 + 5));
  EXPECT_EQ(bytes[8], '{');
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
  const size_t close = header.rfind('}');
  ASSERT_NE(close, std::string::npos);
  EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos);
  EXPECT_LT(header.size() - close - 1, 8u);
}

TEST(Safetensors, WriterOmitsEmptyMetadata) {
  SafetensorsWriter w;
  const float x[] = {1.f, 2.f};
  w.add_f32("x", {2}, x);
  const Bytes bytes = w.serialize();
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_EQ(text.find("__metadata__"), std::string::npos);
  const Safetensors st = Safetensors::parse(bytes);
  EXPECT_TRUE(st.metadata().empty());
  EXPECT_EQ(st.to_f32(st.get("x")), (std::vector<float>{1.f, 2.f}));

  SafetensorsWriter empty;
  const Bytes e = empty.serialize();
  EXPECT_EQ(e, make_file("{}      "));
  EXPECT_TRUE(Safetensors::parse(e).tensors().empty());
}

TEST(Safetensors, WriterIsByteExact) {
  SafetensorsWriter w;
  w.set_metadata("k", "v");
  const float x[] = {1.f};
  w.add_f32("t", {1}, x);
  const std::string header = R"({"__metadata__":{"k":"v"},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  Bytes data;
  append_le(data, 1.f);
  std::string padded = header;
  padded.append((8 - padded.size() % 8) % 8, ' ');
  EXPECT_EQ(w.serialize(), make_file(padded, data));
}

TEST(Safetensors, WriterRejectsBadArguments) {
  SafetensorsWriter w;
  const float three[] = {1.f, 2.f, 3.f};
  try {
    w.add_f32("weights.mismatch", {2, 2}, three);
    ADD_FAILURE() << "shape/data mismatch accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("weights.mismatch"), std::string::npos) << e.what();
  }
  try {
    w.add_f32("neg", {-1, -3}, three);
    ADD_FAILURE() << "negative dims accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("negative"), std::string::npos) << e.what();
  }
  try {
    w.add_f32("__metadata__", {3}, three);
    ADD_FAILURE() << "reserved name accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  w.add_f32("dup", {3}, three);
  try {
    w.add_f32("dup", {3}, three);
    ADD_FAILURE() << "duplicate accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("duplicate"), std::string::npos) << e.what();
  }
  try {
    w.add_f32(std::string("bad\xff"), {3}, three);
    ADD_FAILURE() << "invalid UTF-8 name accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
  }
  // Only the valid tensor made it in.
  const Safetensors st = Safetensors::parse(w.serialize());
  ASSERT_EQ(st.tensors().size(), 1u);
  EXPECT_EQ(st.tensors()[0].name, "dup");
}

TEST(Safetensors, I32WriterRoundTripAndByteLayout) {
  SafetensorsWriter w;
  const float f[] = {0.5f};
  const int32_t labels[] = {0, 9, -1, 2147483647};
  w.add_f32("f", {1}, f);
  w.add_i32("labels", {2, 2}, labels);
  const Bytes bytes = w.serialize();
  std::string header = R"({"f":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("labels":{"dtype":"I32","shape":[2,2],"data_offsets":[4,20]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  Bytes data;
  append_le(data, 0.5f);
  for (int32_t v : labels) append_le(data, v);
  EXPECT_EQ(bytes, make_file(header, data));
  const Safetensors st = Safetensors::parse(bytes);
  EXPECT_EQ(st.to_i32(st.get("labels")), (std::vector<int32_t>{0, 9, -1, 2147483647}));
  EXPECT_EQ(st.get("labels").dtype, SafetensorsDType::kI32);

  test::expect_error([&] { w.add_i32("labels", {4}, labels); }, ErrorCode::kInvalidArgument, {"duplicate", "labels"});
  test::expect_error([&] { w.add_i32("short", {5}, labels); }, ErrorCode::kInvalidArgument,
                     {"\"short\"", "5 elements", "4 values"});
}

TEST(Safetensors, ToI32RejectsOtherIntegerDtypes) {
  Bytes data(8 + 2, 0);
  const Safetensors st = Safetensors::parse(make_file(obj({entry("l", "I64", "[1]", 0, 8), entry("s", "I16", "[1]", 8, 10)}), data));
  test::expect_error([&] { st.to_i32(st.get("l")); }, ErrorCode::kUnsupported, {"'l'", "I64"});
  test::expect_error([&] { st.to_i32(st.get("s")); }, ErrorCode::kUnsupported, {"'s'", "I16"});
}

TEST(Safetensors, FileRoundTripAndIoErrors) {
  const std::string dir = test::temp_dir();
  const std::string path = dir + "/w.safetensors";
  SafetensorsWriter w;
  w.set_metadata("who", "test");
  const std::vector<float> v = test::random_floats(12, 7);
  w.add_f32("v", {3, 4}, v);
  w.write_file(path);
  const Safetensors st = Safetensors::read_file(path);
  EXPECT_EQ(st.metadata().at("who"), "test");
  EXPECT_EQ(st.to_f32(st.get("v")), v);
  EXPECT_EQ(test::read_bytes(path), w.serialize());

  const std::string missing = dir + "/does_not_exist.safetensors";
  try {
    Safetensors::read_file(missing);
    ADD_FAILURE() << "missing file accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  try {
    Safetensors::read_file(dir);
    ADD_FAILURE() << "directory accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
  }
  const std::string unwritable = dir + "/no/such/dir/out.safetensors";
  try {
    w.write_file(unwritable);
    ADD_FAILURE() << "write into a missing directory succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find(unwritable), std::string::npos) << e.what();
  }
  // Parse errors from read_file name the path too.
  const std::string bad = dir + "/bad.safetensors";
  std::ofstream(bad, std::ios::binary) << "abc";
  try {
    Safetensors::read_file(bad);
    ADD_FAILURE() << "3-byte file accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

TEST(Safetensors, ReadFileRefusesHugeFilesBeforeReading) {
  const std::string path = test::temp_dir() + "/huge.safetensors";
  std::ofstream(path, std::ios::binary) << "x";
  std::error_code ec;
  std::filesystem::resize_file(path, Safetensors::kMaxFileBytes + 1, ec);  // sparse: no disk used
  if (ec) GTEST_SKIP() << "cannot create a sparse file: " << ec.message();
  try {
    Safetensors::read_file(path);
    ADD_FAILURE() << "2 GiB + 1 file accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimit);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(Safetensors::kMaxFileBytes + 1)), std::string::npos)
        << e.what();
  }
  std::filesystem::remove(path);
}

// ---------------------------------------------------------------------------
// Reference files produced by the paper's PyTorch code
// ---------------------------------------------------------------------------

TEST(Safetensors, ReadsReferenceWeights) {
  const auto shared = test::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not found (set ICIIA_SHARED_DIR)";
  const std::string path = *shared + "/reference/iciia/ref_a.safetensors";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  const Safetensors st = Safetensors::read_file(path);
  EXPECT_EQ(st.tensors().size(), 14u);
  EXPECT_EQ(st.metadata().at("format"), "iciia/1");
  EXPECT_EQ(st.metadata().at("dim"), "64");
  EXPECT_EQ(st.metadata().at("num_classes"), "10");
  EXPECT_EQ(st.metadata().at("num_partitions"), "1");
  const TensorInfo& w = st.get("encoder.layers.0.encoder_layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(w.dtype, SafetensorsDType::kF32);
  EXPECT_EQ(w.shape, (std::vector<int64_t>{192, 64}));
  EXPECT_EQ(st.get("classifier.weight").shape, (std::vector<int64_t>{10, 64}));
  EXPECT_EQ(st.get("classifier.bias").shape, (std::vector<int64_t>{10}));

  // Values agree with the raw file bytes, located independently.
  const Bytes raw = test::read_bytes(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | raw[static_cast<size_t>(i)];
  const std::vector<float> values = st.to_f32(w);
  ASSERT_EQ(values.size(), 192u * 64u);
  for (size_t i : {size_t{0}, size_t{1}, size_t{4095}, values.size() - 1}) {
    float expect;
    std::memcpy(&expect, raw.data() + 8 + n + w.begin + 4 * i, 4);
    EXPECT_EQ(std::bit_cast<uint32_t>(values[i]), std::bit_cast<uint32_t>(expect)) << i;
  }
  uint64_t total = 0;
  for (const auto& t : st.tensors()) {
    total += t.end - t.begin;
    for (float x : st.to_f32(t)) ASSERT_TRUE(std::isfinite(x)) << t.name;
  }
  EXPECT_EQ(8 + n + total, raw.size());
  // parse() on the same bytes agrees with read_file().
  const Safetensors again = Safetensors::parse(raw);
  EXPECT_EQ(again.to_f32(again.get(w.name)), values);

  const Safetensors io = Safetensors::read_file(*shared + "/reference/iciia/ref_a.io.safetensors");
  EXPECT_EQ(io.get("input").shape, (std::vector<int64_t>{9, 64}));
  EXPECT_EQ(io.get("output").shape, (std::vector<int64_t>{9, 10}));
  EXPECT_EQ(io.metadata().at("sequence_length"), "9");
}

// ---------------------------------------------------------------------------
// Dtypes and conversion
// ---------------------------------------------------------------------------

TEST(Safetensors, DtypeNamesAndSizes) {
  const std::pair<SafetensorsDType, std::pair<const char*, size_t>> expect[] = {
      {SafetensorsDType::kF64, {"F64", 8}}, {SafetensorsDType::kF32, {"F32", 4}}, {SafetensorsDType::kF16, {"F16", 2}}, {SafetensorsDType::kBF16, {"BF16", 2}},
      {SafetensorsDType::kI64, {"I64", 8}}, {SafetensorsDType::kI32, {"I32", 4}}, {SafetensorsDType::kI16, {"I16", 2}}, {SafetensorsDType::kI8, {"I8", 1}},
      {SafetensorsDType::kU8, {"U8", 1}},   {SafetensorsDType::kBool, {"BOOL", 1}},
  };
  for (const auto& [dtype, ns] : expect) {
    EXPECT_STREQ(dtype_name(dtype), ns.first);
    EXPECT_EQ(dtype_size(dtype), ns.second) << ns.first;
    // Every name parses back to its dtype.
    const Bytes file = make_file(obj({entry("t", ns.first, "[3]", 0, 3 * ns.second)}), zeros(3 * ns.second));
    EXPECT_EQ(Safetensors::parse(file).get("t").dtype, dtype) << ns.first;
  }
}

TEST(Safetensors, F16ToF32) {
  const std::vector<std::pair<uint16_t, float>> cases = {
      {0x3c00, 1.0f},
      {0xc000, -2.0f},
      {0x3555, 0.333251953125f},
      {0x7bff, 65504.0f},                  // largest finite
      {0x0400, 0x1p-14f},                  // smallest normal
      {0x0001, 0x1p-24f},                  // smallest subnormal
      {0x03ff, 1023.0f * 0x1p-24f},        // largest subnormal
      {0x8001, -0x1p-24f},                 // negative subnormal
      {0x0000, 0.0f},
      {0x7c00, std::numeric_limits<float>::infinity()},
      {0xfc00, -std::numeric_limits<float>::infinity()},
  };
  Bytes data;
  for (const auto& c : cases) append_le(data, c.first);
  append_le<uint16_t>(data, 0x8000);  // -0
  append_le<uint16_t>(data, 0x7e00);  // quiet nan
  append_le<uint16_t>(data, 0xfc01);  // signalling-pattern nan, negative
  const size_t n = cases.size() + 3;
  const Safetensors st = Safetensors::parse(
      make_file(obj({entry("h", "F16", "[" + std::to_string(n) + "]", 0, 2 * n)}), data));
  const std::vector<float> out = st.to_f32(st.get("h"));
  ASSERT_EQ(out.size(), n);
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(out[i], cases[i].second) << "F16 0x" << std::hex << cases[i].first;
  EXPECT_EQ(out[cases.size()], 0.0f);
  EXPECT_TRUE(std::signbit(out[cases.size()]));
  EXPECT_TRUE(std::isnan(out[cases.size() + 1]));
  EXPECT_TRUE(std::isnan(out[cases.size() + 2]));
}

TEST(Safetensors, BF16ToF32) {
  const std::vector<std::pair<uint16_t, float>> cases = {
      {0x3f80, 1.0f},
      {0xc0a0, -5.0f},
      {0x3e20, 0.15625f},
      {0x7f7f, std::bit_cast<float>(0x7f7f0000u)},  // largest finite
      {0x0001, std::bit_cast<float>(0x00010000u)},  // subnormal
      {0x7f80, std::numeric_limits<float>::infinity()},
      {0xff80, -std::numeric_limits<float>::infinity()},
  };
  Bytes data;
  for (const auto& c : cases) append_le(data, c.first);
  append_le<uint16_t>(data, 0x7fc0);  // nan
  const size_t n = cases.size() + 1;
  const Safetensors st = Safetensors::parse(
      make_file(obj({entry("b", "BF16", "[" + std::to_string(n) + "]", 0, 2 * n)}), data));
  const std::vector<float> out = st.to_f32(st.get("b"));
  ASSERT_EQ(out.size(), n);
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(out[i], cases[i].second) << "BF16 0x" << std::hex << cases[i].first;
  EXPECT_TRUE(std::isnan(out.back()));
}

TEST(Safetensors, F64ToF32) {
  const double in[] = {1.5, -0.1, 3.141592653589793, 1e300, -1e300, 1e-50, 65504.0};
  const float expect[] = {1.5f, -0.1f, 3.14159265f, std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(), 0.0f, 65504.0f};
  Bytes data;
  for (double d : in) append_le(data, d);
  const Safetensors st = Safetensors::parse(make_file(obj({entry("d", "F64", "[7]", 0, 56)}), data));
  const std::vector<float> out = st.to_f32(st.get("d"));
  ASSERT_EQ(out.size(), 7u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(out[i], expect[i]) << in[i];
}

TEST(Safetensors, UnalignedDataAndMixedDtypes) {
  // 13-byte-longer-than-aligned header: the data section starts at an odd
  // file offset, so nothing may be read through a typed pointer.
  Bytes data;
  append_le(data, 2.5f);
  append_le(data, -7.0f);
  append_le<uint16_t>(data, 0x3c00);
  append_le<int32_t>(data, -42);
  const std::string header = obj({entry("f", "F32", "[2]", 0, 8), entry("h", "F16", "[1]", 8, 10),
                             entry("i", "I32", "[1]", 10, 14)});
  // Pad so the data section starts at an odd file offset.
  const std::string padded = header + ((8 + header.size()) % 2 ? "" : " ");
  const Bytes file = make_file(padded, data);
  ASSERT_EQ((8 + padded.size()) % 2, 1u);
  const Safetensors st = Safetensors::parse(file);
  EXPECT_EQ(st.to_f32(st.get("f")), (std::vector<float>{2.5f, -7.0f}));
  EXPECT_EQ(st.to_f32(st.get("h")), std::vector<float>{1.0f});
  const auto raw = st.bytes(st.get("i"));
  ASSERT_EQ(raw.size(), 4u);
  int32_t v;
  std::memcpy(&v, raw.data(), 4);
  EXPECT_EQ(v, -42);
  EXPECT_EQ(st.to_i32(st.get("i")), std::vector<int32_t>{-42});
  test::expect_error([&] { st.to_i32(st.get("f")); }, ErrorCode::kUnsupported, {"'f'", "I32", "F32"});
  try {
    st.to_f32(st.get("i"));
    ADD_FAILURE() << "I32 converted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("I32"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'i'"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, FindAndGet) {
  SafetensorsWriter w;
  const float x[] = {1.f};
  w.add_f32("present", {1}, x);
  const Safetensors st = Safetensors::parse(w.serialize());
  ASSERT_NE(st.find("present"), nullptr);
  EXPECT_EQ(st.find("present")->name, "present");
  EXPECT_EQ(st.find("absent"), nullptr);
  try {
    st.get("absent.weight");
    ADD_FAILURE() << "get of a missing tensor returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    EXPECT_NE(std::string(e.what()).find("absent.weight"), std::string::npos) << e.what();
  }
  // A TensorInfo that does not belong to this file is refused, not read.
  TensorInfo foreign{"foreign", SafetensorsDType::kF32, {1000}, 0, 4000};
  try {
    st.to_f32(foreign);
    ADD_FAILURE() << "foreign tensor read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("foreign"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------
// Lenient where the format is lenient
// ---------------------------------------------------------------------------

TEST(Safetensors, AcceptsPaddingTrailingDataAndZeroSizedNeighbours) {
  const std::string body = obj({entry("a", "F32", "[1]", 0, 4)});
  for (const std::string pad : {"", " ", "       ", " \n\t\r "}) {
    const Safetensors st = Safetensors::parse(make_file(body + pad, zeros(4)));
    EXPECT_EQ(st.tensors().size(), 1u) << "padding '" << pad << "'";
  }
  // Data section longer than the last tensor.
  EXPECT_EQ(Safetensors::parse(make_file(body, zeros(100))).get("a").end, 4u);
  // Zero-sized tensors at shared offsets, in any header order.
  const Safetensors st = Safetensors::parse(make_file(
      obj({entry("z2", "F32", "[0]", 4, 4), entry("a", "F32", "[1]", 0, 4),
          entry("z0", "I8", "[3,0]", 0, 0), entry("z1", "F16", "[0]", 0, 0),
          entry("b", "U8", "[2]", 4, 6)}),
      zeros(6)));
  ASSERT_EQ(st.tensors().size(), 5u);
  EXPECT_EQ(st.tensors()[0].name, "z2");  // header order is kept
  EXPECT_EQ(st.get("z0").shape, (std::vector<int64_t>{3, 0}));
  EXPECT_EQ(st.get("b").begin, 4u);
  // Metadata only, no tensors.
  const Safetensors m = Safetensors::parse(make_file(R"({"__metadata__":{"a":"1","b":""}})"));
  EXPECT_TRUE(m.tensors().empty());
  EXPECT_EQ(m.metadata().at("b"), "");
  // Unicode names and escapes are fine.
  const Safetensors u = Safetensors::parse(
      make_file("{\"caf\\u00e9.w\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", zeros(1)));
  EXPECT_NE(u.find("caf\xc3\xa9.w\xc3\xa9"), nullptr);
}

// ---------------------------------------------------------------------------
// Malformed input: each case is a specific error, never a crash
// ---------------------------------------------------------------------------

TEST(SafetensorsMalformed, TooShortForLengthPrefix) {
  for (size_t n = 0; n < 8; ++n) expect_error(Bytes(n, 0), ErrorCode::kFormat, {"8-byte", std::to_string(n) + " bytes"});
}

TEST(SafetensorsMalformed, HeaderLengthPastEndOfFile) {
  Bytes f = make_file("{}");
  f[0] = 200;  // claims 200 header bytes, has 2
  expect_error(f, ErrorCode::kFormat, {"header length 200", "past the end"});
  Bytes huge(16, 0xff);  // 2^64 - 1
  expect_error(huge, ErrorCode::kFormat, {"18446744073709551615", "past the end"});
}

TEST(SafetensorsMalformed, HeaderLengthAboveLimit) {
  SafetensorsLimits limits;
  limits.max_header_bytes = 16;
  const std::string header = obj({entry("a", "F32", "[1]", 0, 4)});
  expect_error(make_file(header, zeros(4)), ErrorCode::kLimit, {"exceeds", "16"}, limits);
  limits.max_header_bytes = header.size();
  EXPECT_NO_THROW(Safetensors::parse(make_file(header, zeros(4)), limits));
}

TEST(SafetensorsMalformed, HeaderNotJsonObject) {
  expect_header_error("", 0, ErrorCode::kFormat, {"must start with '{'"});
  expect_header_error("[]", 0, ErrorCode::kFormat, {"must start with '{'"});
  expect_header_error(" {}", 0, ErrorCode::kFormat, {"must start with '{'"});
  expect_header_error("\xef\xbb\xbf{}", 0, ErrorCode::kFormat, {"must start with '{'"});  // BOM
  expect_header_error("{", 0, ErrorCode::kFormat, {"not valid JSON"});
  expect_header_error("{\"a\":", 0, ErrorCode::kFormat, {"not valid JSON"});
  expect_header_error("{} x", 0, ErrorCode::kFormat, {"not valid JSON", "header byte 3"});
  expect_header_error("{}{}", 0, ErrorCode::kFormat, {"not valid JSON"});
  expect_header_error(std::string("{}\0\0", 4), 0, ErrorCode::kFormat, {"NUL", "header byte 2"});  // NUL padding
  expect_header_error(std::string("{}\0garbage", 10), 0, ErrorCode::kFormat, {"NUL"});
  expect_header_error(std::string("{\"a\0\":{}}", 8), 0, ErrorCode::kFormat, {"NUL", "header byte 3"});
  expect_header_error("{'a':1}", 0, ErrorCode::kFormat, {"not valid JSON"});
  expect_header_error("{\"__metadata__\":{},}", 0, ErrorCode::kFormat, {"not valid JSON"});
  expect_header_error("{/*c*/}", 0, ErrorCode::kFormat, {"not valid JSON"});
  expect_header_error("{\"a\":1e999}", 0, ErrorCode::kFormat, {"not valid JSON"});
}

TEST(SafetensorsMalformed, HeaderNotUtf8) {
  expect_header_error("{\"\xff\":{}}", 0, ErrorCode::kFormat, {"not valid JSON", "UTF-8"});
  expect_header_error("{\"a\xc3\":{}}", 0, ErrorCode::kFormat, {"not valid JSON", "UTF-8"});      // truncated
  expect_header_error("{\"\xc0\xaf\":{}}", 0, ErrorCode::kFormat, {"not valid JSON", "UTF-8"});  // overlong
  expect_header_error("{\"\\ud800\":{}}", 0, ErrorCode::kFormat, {"not valid JSON", "surrogate"});
  expect_header_error("{\"a\x01\":{}}", 0, ErrorCode::kFormat, {"not valid JSON"});  // raw control char
  expect_header_error("{\xff}", 0, ErrorCode::kFormat, {"not valid JSON"});
}

TEST(SafetensorsMalformed, MetadataNotStringMap) {
  expect_header_error(R"({"__metadata__":"x"})", 0, ErrorCode::kFormat, {"__metadata__", "object"});
  expect_header_error(R"({"__metadata__":["a"]})", 0, ErrorCode::kFormat, {"__metadata__", "array"});
  expect_header_error(R"({"__metadata__":null})", 0, ErrorCode::kFormat, {"__metadata__", "null"});
  expect_header_error(R"({"__metadata__":{"dim":64}})", 0, ErrorCode::kFormat, {"__metadata__", "'dim'", "string"});
  expect_header_error(R"({"__metadata__":{"k":{"x":"y"}}})", 0, ErrorCode::kFormat, {"'k'", "string"});
  expect_header_error(R"({"__metadata__":{"k":["y"]}})", 0, ErrorCode::kFormat, {"'k'", "string"});
  expect_header_error(R"({"__metadata__":{"k":true}})", 0, ErrorCode::kFormat, {"'k'", "boolean"});
  expect_header_error(R"({"__metadata__":{"k":"a","k":"b"}})", 0, ErrorCode::kFormat, {"duplicate", "'k'"});
  expect_header_error(R"({"__metadata__":{},"__metadata__":{}})", 0, ErrorCode::kFormat,
                      {"more than one __metadata__"});
  SafetensorsLimits limits;
  limits.max_metadata_entries = 2;
  expect_header_error(R"({"__metadata__":{"a":"","b":"","c":""}})", 0, ErrorCode::kLimit, {"__metadata__", "2"},
                      limits);
}

TEST(SafetensorsMalformed, EntryMissingFields) {
  expect_header_error(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4, ErrorCode::kFormat, {"'w'", "dtype"});
  expect_header_error(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4, ErrorCode::kFormat, {"'w'", "shape"});
  expect_header_error(R"({"w":{"dtype":"F32","shape":[1]}})", 4, ErrorCode::kFormat, {"'w'", "data_offsets"});
  expect_header_error(R"({"w":{}})", 4, ErrorCode::kFormat, {"'w'", "missing"});
}

TEST(SafetensorsMalformed, EntryWrongJsonTypes) {
  const struct {
    const char* header;
    const char* needle;
  } cases[] = {
      {R"({"w":[1]})", "entry must be an object"},
      {R"({"w":"F32"})", "entry must be an object"},
      {R"({"w":null})", "entry must be an object"},
      {R"({"w":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})", "dtype must be a string"},
      {R"({"w":{"dtype":["F32"],"shape":[1],"data_offsets":[0,4]}})", "dtype must be a string"},
      {R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", "shape must be an array"},
      {R"({"w":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})", "shape must be an array"},
      {R"({"w":{"dtype":"F32","shape":{},"data_offsets":[0,4]}})", "shape must be an array"},
      {R"({"w":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}})", "shape must contain only"},
      {R"({"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", "shape must contain only"},
      {R"({"w":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}})", "shape must contain only"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":"0,4"}})", "data_offsets must be an array"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":{"a":0}}})", "data_offsets must be an array"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "got 1 value"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[]}})", "got 0 value"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", "more than 2"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}})", "not a non-negative 64-bit integer"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-1,3]}})", "negative"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}})", "not a non-negative 64-bit"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}})", "data_offsets must contain only"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", "unknown field 'extra'"},
      {R"({"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "duplicate field 'dtype'"},
      {R"({"w":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}})", "duplicate field 'shape'"},
  };
  for (const auto& c : cases) expect_header_error(c.header, 4, ErrorCode::kFormat, {"'w'", c.needle});
}

TEST(SafetensorsMalformed, UnknownDtype) {
  for (const char* d : {"Q8", "U16", "U64", "F8_E4M3", "f32", ""}) {
    expect_header_error(obj({entry("w", d, "[1]", 0, 4)}), 4, ErrorCode::kUnsupported,
                        {"'w'", std::string("dtype '") + d + "'"});
  }
}

TEST(SafetensorsMalformed, BadDimensions) {
  expect_header_error(obj({entry("w", "F32", "[2,-1]", 0, 4)}), 4, ErrorCode::kFormat,
                      {"'w'", "negative dimension -1", "index 1"});
  expect_header_error(obj({entry("w", "F32", "[2.5]", 0, 4)}), 4, ErrorCode::kFormat,
                      {"'w'", "'2.5'", "not a non-negative integer"});
  expect_header_error(obj({entry("w", "F32", "[1.0]", 0, 4)}), 4, ErrorCode::kFormat, {"'w'", "'1.0'"});
  expect_header_error(obj({entry("w", "F32", "[1e0]", 0, 4)}), 4, ErrorCode::kFormat, {"'w'", "'1e0'"});
  expect_header_error(obj({entry("w", "F32", "[9223372036854775808]", 0, 4)}), 4, ErrorCode::kFormat,
                      {"'w'", "does not fit in int64"});
  expect_header_error(obj({entry("w", "F32", "[true]", 0, 4)}), 4, ErrorCode::kFormat, {"'w'", "boolean"});
}

TEST(SafetensorsMalformed, RankAboveLimit) {
  expect_header_error(obj({entry("deep", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4)}), 4, ErrorCode::kLimit,
                      {"'deep'", "rank", "8"});
  SafetensorsLimits limits;
  limits.max_rank = 2;
  expect_header_error(obj({entry("w", "F32", "[1,1,1]", 0, 4)}), 4, ErrorCode::kLimit, {"'w'", "rank"}, limits);
  EXPECT_NO_THROW(Safetensors::parse(make_file(obj({entry("w", "F32", "[1,1]", 0, 4)}), zeros(4)), limits));
}

TEST(SafetensorsMalformed, ShapeProductOverflow) {
  expect_header_error(obj({entry("big", "F32", "[4294967296,4294967296]", 0, 4)}), 4, ErrorCode::kFormat,
                      {"'big'", "overflows"});
  // Fits in 64 bits as elements but not as bytes.
  expect_header_error(obj({entry("big", "F64", "[4611686018427387904]", 0, 8)}), 8, ErrorCode::kFormat,
                      {"'big'", "overflows"});
  // A zero dim does not hide an overflowing product of the others.
  expect_header_error(obj({entry("z", "F32", "[4294967296,4294967296,0]", 0, 0)}), 0, ErrorCode::kFormat,
                      {"'z'", "overflows"});
}

TEST(SafetensorsMalformed, ByteSizeMismatch) {
  expect_header_error(obj({entry("w", "F32", "[2,3]", 0, 20)}), 24, ErrorCode::kFormat,
                      {"'w'", "needs 24 bytes", "spans 20"});
  expect_header_error(obj({entry("w", "F16", "[2]", 0, 8)}), 8, ErrorCode::kFormat, {"'w'", "needs 4 bytes"});
  expect_header_error(obj({entry("s", "F32", "[]", 0, 0)}), 0, ErrorCode::kFormat, {"'s'", "needs 4 bytes"});
}

TEST(SafetensorsMalformed, BeginAfterEnd) {
  expect_header_error(obj({entry("w", "U8", "[2]", 6, 4)}), 8, ErrorCode::kFormat,
                      {"'w'", "[6, 4]", "begin after end"});
}

TEST(SafetensorsMalformed, EndPastDataSection) {
  expect_header_error(obj({entry("w", "F32", "[4]", 0, 16)}), 12, ErrorCode::kFormat,
                      {"'w'", "[0, 16]", "past the data section", "12 bytes"});
  expect_header_error(obj({entry("w", "U8", "[1]", 18446744073709551614ull, 18446744073709551615ull)}), 4,
                      ErrorCode::kFormat, {"'w'", "past the data section"});
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  expect_header_error(obj({entry("first", "F32", "[2]", 0, 8), entry("second", "F32", "[2]", 4, 12)}), 12,
                      ErrorCode::kFormat, {"'second'", "overlaps", "'first'"});
  // Same range twice.
  expect_header_error(obj({entry("a", "F32", "[1]", 0, 4), entry("b", "F32", "[1]", 0, 4)}), 4,
                      ErrorCode::kFormat, {"overlaps"});
  // A zero-sized tensor strictly inside another.
  expect_header_error(obj({entry("a", "F32", "[2]", 0, 8), entry("z", "F32", "[0]", 4, 4)}), 8,
                      ErrorCode::kFormat, {"'z'", "overlaps", "'a'"});
}

TEST(SafetensorsMalformed, HolesBetweenTensors) {
  expect_header_error(obj({entry("a", "F32", "[1]", 0, 4), entry("b", "F32", "[1]", 8, 12)}), 12,
                      ErrorCode::kFormat, {"gap of 4 bytes", "data offset 4", "'b'"});
  expect_header_error(obj({entry("late", "F32", "[1]", 4, 8)}), 8, ErrorCode::kFormat,
                      {"gap of 4 bytes", "data offset 0", "'late'"});
}

TEST(SafetensorsMalformed, TooManyTensors) {
  SafetensorsLimits limits;
  limits.max_tensors = 2;
  const std::string header = obj({entry("a", "U8", "[1]", 0, 1), entry("b", "U8", "[1]", 1, 2),
                             entry("c", "U8", "[1]", 2, 3)});
  expect_header_error(header, 3, ErrorCode::kLimit, {"more than 2 tensors", "'c'"}, limits);
  limits.max_tensors = 3;
  EXPECT_EQ(Safetensors::parse(make_file(header, zeros(3)), limits).tensors().size(), 3u);
}

TEST(SafetensorsMalformed, TensorAboveByteLimit) {
  SafetensorsLimits limits;
  limits.max_tensor_bytes = 15;
  expect_header_error(obj({entry("huge", "F32", "[4]", 0, 16)}), 16, ErrorCode::kLimit,
                      {"'huge'", "16 bytes", "15"}, limits);
  // The limit is checked before the data section, so a lying file gets kLimit too.
  expect_header_error(obj({entry("huge", "F32", "[1000000000]", 0, 4000000000)}), 0, ErrorCode::kLimit,
                      {"'huge'", "4000000000"}, limits);
}

TEST(SafetensorsMalformed, DuplicateTensorNames) {
  expect_header_error(obj({entry("twice", "U8", "[1]", 0, 1), entry("twice", "U8", "[1]", 1, 2)}), 2,
                      ErrorCode::kFormat, {"duplicate tensor name", "'twice'"});
  // Escapes that decode to the same name are the same name.
  expect_header_error(obj({entry("ab", "U8", "[1]", 0, 1), entry("a\\u0062", "U8", "[1]", 1, 2)}), 2,
                      ErrorCode::kFormat, {"duplicate tensor name", "'ab'"});
}

TEST(SafetensorsMalformed, HostileNamesAreQuotedSafely) {
  const std::string longname(10000, 'x');
  try {
    Safetensors::parse(make_file(obj({entry(longname, "Q4", "[1]", 0, 1)}), zeros(1)));
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_LT(std::string(e.what()).size(), 1000u);
    EXPECT_NE(std::string(e.what()).find("10000 bytes"), std::string::npos) << e.what();
  }
  try {
    Safetensors::parse(make_file(obj({entry("a\\u0000\\n", "Q4", "[1]", 0, 1)}), zeros(1)));
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'a\\x00\\x0a'"), std::string::npos) << e.what();
  }
}

// Every truncation and every single-byte corruption of a valid file either
// parses or throws iciia::Error; parsed results stay readable.
TEST(SafetensorsMalformed, TruncationsAndByteFlipsNeverCrash) {
  SafetensorsWriter w;
  w.set_metadata("format", "iciia/1");
  const std::vector<float> a = test::random_floats(6, 3);
  w.add_f32("a", {2, 3}, a);
  w.add_f32("b", {1}, std::span<const float>(a.data(), 1));
  const Bytes good = w.serialize();
  size_t errors = 0, parsed = 0;
  auto attempt = [&](const Bytes& f) {
    try {
      const Safetensors st = Safetensors::parse(f);
      for (const auto& t : st.tensors()) {
        if (t.dtype == SafetensorsDType::kF32 || t.dtype == SafetensorsDType::kF16 || t.dtype == SafetensorsDType::kBF16 || t.dtype == SafetensorsDType::kF64) {
          EXPECT_EQ(st.to_f32(t).size(), static_cast<size_t>(t.numel()));
        }
      }
      ++parsed;
    } catch (const Error&) {
      ++errors;
    }
  };
  for (size_t n = 0; n < good.size(); ++n) attempt(Bytes(good.begin(), good.begin() + static_cast<long>(n)));
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t x : {uint8_t{0x01}, uint8_t{0x20}, uint8_t{0x80}, uint8_t{0xff}}) {
      Bytes f = good;
      f[i] ^= x;
      attempt(f);
    }
  }
  EXPECT_GT(errors, good.size());  // every strict truncation of the header fails
  EXPECT_GT(parsed, 0u);           // flips inside the data section still parse
}

}  // namespace
}  // namespace iciia
