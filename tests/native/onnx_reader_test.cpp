// Tests of the ONNX model file layer: writer -> reader round trips, the real
// torchvision exports in ../shared/models, and every kind of malformed input.
#include <gtest/gtest.h>
#include <protozero/pbf_writer.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <set>

#include "onnx/onnx_model.h"
#include "onnx/onnx_writer.h"
#include "test_support.h"
#include "util/error.h"

namespace iciia {
namespace {

namespace ob = onnx_build;
using DT = OnnxDataType;

// ---- helpers ----

using test::expect_error;

void expect_parse_error(const std::vector<uint8_t>& bytes, ErrorCode code, std::initializer_list<std::string> parts,
                        const OnnxLimits& limits = {}) {
  expect_error([&] { parse_onnx(bytes, limits); }, code, parts);
}

std::vector<uint8_t> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }

using Fill = std::function<void(protozero::pbf_writer&)>;

// The bytes of one protobuf message.
std::string message(const Fill& fill) {
  std::string buf;
  protozero::pbf_writer w(buf);
  fill(w);
  return buf;
}

// A ModelProto with ir_version 8, the given graph bytes and opset 13.
std::vector<uint8_t> model_with_graph(const std::string& graph) {
  return to_bytes(message([&](protozero::pbf_writer& m) {
    m.add_int64(1, 8);
    m.add_message(7, graph);
    m.add_message(8, message([](protozero::pbf_writer& o) { o.add_int64(2, 13); }));
  }));
}

// A model whose graph has one initializer given as TensorProto bytes.
std::vector<uint8_t> model_with_initializer(const std::string& tensor) {
  return model_with_graph(message([&](protozero::pbf_writer& g) { g.add_message(5, tensor); }));
}

// A model whose graph has one node given as NodeProto bytes.
std::vector<uint8_t> model_with_node(const std::string& node) {
  return model_with_graph(message([&](protozero::pbf_writer& g) { g.add_message(1, node); }));
}

std::string raw_of(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// A small model exercising every field the reader reads.
OnnxModel feature_model() {
  OnnxGraph g;
  g.name = "feature_graph";
  const auto w = test::random_floats(2 * 3 * 3 * 3, 7);
  const auto b = test::random_floats(2, 8);
  g.initializers.push_back(ob::float_tensor("conv.w", {2, 3, 3, 3}, w));
  g.initializers.push_back(ob::float_tensor("conv.b", {2}, b));
  const std::vector<int64_t> shape{1, -1};
  g.initializers.push_back(ob::int64_tensor("flat_shape", {2}, shape));
  const std::vector<int32_t> axes{0};
  g.initializers.push_back(ob::int32_tensor("axes32", {1}, axes));
  const std::vector<float> scalar{0.5f};
  g.initializers.push_back(ob::float_tensor("half", {}, scalar));
  g.initializers.push_back(ob::float_tensor("empty", {0, 4}, std::vector<float>{}));
  OnnxTensor f16;
  f16.name = "f16";
  f16.dtype = DT::kFloat16;
  f16.dims = {2};
  f16.raw = {0x00, 0x3c, 0x00, 0xc0};  // 1.0, -2.0
  g.initializers.push_back(f16);
  OnnxTensor labels;
  labels.name = "labels";
  labels.dtype = DT::kString;
  labels.dims = {3};
  labels.strings = {"cat", "", std::string("d\0g", 3)};
  g.initializers.push_back(labels);

  g.inputs.push_back(
      ob::symbolic_value_info("input", DT::kFloat, std::vector<OnnxDim>{{-1, "batch"}, {3, ""}, {8, ""}, {8, ""}}));
  g.inputs.push_back(ob::value_info("conv.w", DT::kFloat, {2, 3, 3, 3}));  // initializer listed as input
  g.outputs.push_back(ob::value_info("logits", DT::kFloat, {-1, 128}));
  g.outputs.push_back(ob::value_info("scalar_out", DT::kFloat, std::vector<int64_t>{}));
  OnnxValueInfo untyped;
  untyped.name = "act";
  g.value_infos.push_back(untyped);
  OnnxValueInfo seq;
  seq.name = "seq_like";
  seq.is_tensor = false;
  g.value_infos.push_back(seq);
  OnnxValueInfo rank_unknown;
  rank_unknown.name = "act2";
  rank_unknown.elem_type = DT::kFloat;
  g.value_infos.push_back(rank_unknown);

  OnnxTensor const_t = ob::float_tensor("", {2}, std::vector<float>{1.5f, -2.25f});
  g.nodes.push_back(ob::node("Conv", {"input", "conv.w", "conv.b"}, {"act"},
                             {ob::attr_ints("kernel_shape", {3, 3}), ob::attr_ints("pads", {1, 1, 1, 1}),
                              ob::attr_int("group", 1), ob::attr_ints("strides", {})},
                             "conv0"));
  g.nodes.push_back(ob::node("Clip", {"act", "", "half"}, {"act2"}, {}, "clip0"));
  g.nodes.push_back(ob::node("Reshape", {"act2", "flat_shape"}, {"logits"}));
  g.nodes.push_back(ob::node("Custom", {"act2"}, {"scalar_out", ""},
                             {ob::attr_float("alpha", 0.125f), ob::attr_floats("coeffs", {1.f, -0.5f, 1e-7f}),
                              ob::attr_string("mode", "nearest"), ob::attr_strings("names", {"a", "", "ccc"}),
                              ob::attr_tensor("value", const_t),
                              [] {
                                OnnxAttribute a;
                                a.name = "pair";
                                a.type = OnnxAttrType::kTensors;
                                a.tensors.push_back(ob::int64_tensor("p0", {1}, std::vector<int64_t>{-7}));
                                a.tensors.push_back(ob::float_tensor("p1", {}, std::vector<float>{3.f}));
                                return a;
                              }()},
                             "custom0"));
  g.nodes.back().domain = "com.example";

  OnnxModel m = ob::model(std::move(g), 13);
  m.opset_imports["com.example"] = 2;
  m.producer_version = "0.1";
  m.domain = "org.iciia";
  m.model_version = 3;
  m.doc_string = "feature model";
  m.metadata_props = {{"labels", "cat,dog"}, {"", "empty key"}};
  return m;
}

void expect_same_tensor(const OnnxTensor& a, const OnnxTensor& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.dtype, b.dtype) << a.name;
  EXPECT_EQ(a.dims, b.dims) << a.name;
  EXPECT_EQ(a.raw, b.raw) << a.name;
  EXPECT_EQ(a.strings, b.strings) << a.name;
}

void expect_same_value_info(const OnnxValueInfo& a, const OnnxValueInfo& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.is_tensor, b.is_tensor) << a.name;
  EXPECT_EQ(a.elem_type, b.elem_type) << a.name;
  EXPECT_EQ(a.has_shape, b.has_shape) << a.name;
  ASSERT_EQ(a.shape.size(), b.shape.size()) << a.name;
  for (size_t k = 0; k < a.shape.size(); ++k) {
    EXPECT_EQ(a.shape[k].value, b.shape[k].value) << a.name << " dim " << k;
    EXPECT_EQ(a.shape[k].param, b.shape[k].param) << a.name << " dim " << k;
  }
}

void expect_same_model(const OnnxModel& a, const OnnxModel& b) {
  EXPECT_EQ(a.ir_version, b.ir_version);
  EXPECT_EQ(a.opset_imports, b.opset_imports);
  EXPECT_EQ(a.producer_name, b.producer_name);
  EXPECT_EQ(a.producer_version, b.producer_version);
  EXPECT_EQ(a.domain, b.domain);
  EXPECT_EQ(a.model_version, b.model_version);
  EXPECT_EQ(a.doc_string, b.doc_string);
  EXPECT_EQ(a.metadata_props, b.metadata_props);
  EXPECT_EQ(a.graph.name, b.graph.name);
  ASSERT_EQ(a.graph.initializers.size(), b.graph.initializers.size());
  for (size_t k = 0; k < a.graph.initializers.size(); ++k) {
    expect_same_tensor(a.graph.initializers[k], b.graph.initializers[k]);
  }
  for (auto [x, y] : {std::pair{&a.graph.inputs, &b.graph.inputs}, std::pair{&a.graph.outputs, &b.graph.outputs},
                      std::pair{&a.graph.value_infos, &b.graph.value_infos}}) {
    ASSERT_EQ(x->size(), y->size());
    for (size_t k = 0; k < x->size(); ++k) expect_same_value_info((*x)[k], (*y)[k]);
  }
  ASSERT_EQ(a.graph.nodes.size(), b.graph.nodes.size());
  for (size_t k = 0; k < a.graph.nodes.size(); ++k) {
    const OnnxNode& n = a.graph.nodes[k];
    const OnnxNode& m = b.graph.nodes[k];
    EXPECT_EQ(n.name, m.name);
    EXPECT_EQ(n.op_type, m.op_type);
    EXPECT_EQ(n.domain, m.domain);
    EXPECT_EQ(n.inputs, m.inputs);
    EXPECT_EQ(n.outputs, m.outputs);
    ASSERT_EQ(n.attributes.size(), m.attributes.size());
    for (size_t j = 0; j < n.attributes.size(); ++j) {
      const OnnxAttribute& x = n.attributes[j];
      const OnnxAttribute& y = m.attributes[j];
      EXPECT_EQ(x.name, y.name);
      EXPECT_EQ(x.type, y.type) << x.name;
      EXPECT_EQ(x.f, y.f) << x.name;
      EXPECT_EQ(x.i, y.i) << x.name;
      EXPECT_EQ(x.s, y.s) << x.name;
      EXPECT_EQ(x.floats, y.floats) << x.name;
      EXPECT_EQ(x.ints, y.ints) << x.name;
      EXPECT_EQ(x.strings, y.strings) << x.name;
      expect_same_tensor(x.t, y.t);
      ASSERT_EQ(x.tensors.size(), y.tensors.size());
      for (size_t t = 0; t < x.tensors.size(); ++t) expect_same_tensor(x.tensors[t], y.tensors[t]);
    }
  }
}

// ---- round trips ----

TEST(OnnxRoundTrip, EveryFieldSurvivesWriteAndParse) {
  const OnnxModel m = feature_model();
  const auto bytes = write_onnx(m);
  const OnnxModel back = parse_onnx(bytes);
  expect_same_model(m, back);
  // Spot checks, in case both sides agreed on something wrong.
  EXPECT_EQ(back.opset_version(), 13);
  EXPECT_EQ(back.opset_version("ai.onnx"), 13);
  EXPECT_EQ(back.opset_version("com.example"), 2);
  EXPECT_EQ(back.opset_version("com.other"), 0);
  const OnnxTensor* w = back.graph.find_initializer("conv.w");
  ASSERT_NE(w, nullptr);
  const auto expect_w = test::random_floats(54, 7);
  ASSERT_EQ(w->floats().size(), 54u);
  EXPECT_TRUE(std::equal(expect_w.begin(), expect_w.end(), w->floats().begin()));
  EXPECT_EQ(back.graph.find_initializer("flat_shape")->int64s()[1], -1);
  EXPECT_EQ(back.graph.find_initializer("half")->element_count(), 1);
  EXPECT_EQ(back.graph.find_initializer("empty")->element_count(), 0);
  const auto f16 = back.graph.find_initializer("f16")->to_floats();
  EXPECT_EQ(f16, (std::vector<float>{1.f, -2.f}));
  EXPECT_EQ(back.graph.find_initializer("labels")->strings[2], std::string("d\0g", 3));
  const OnnxNode& conv = back.graph.nodes[0];
  EXPECT_EQ(conv.attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(conv.attr_int("group", 7), 1);
  EXPECT_EQ(conv.attr_int("absent", 7), 7);
  EXPECT_TRUE(conv.attr_ints("strides", {9}).empty());  // present but empty
  const OnnxNode& custom = back.graph.nodes[3];
  EXPECT_EQ(custom.attr_float("alpha", 0.f), 0.125f);
  EXPECT_EQ(custom.attr_floats("coeffs"), (std::vector<float>{1.f, -0.5f, 1e-7f}));
  EXPECT_EQ(custom.attr_string("mode", ""), "nearest");
  ASSERT_NE(custom.attr_tensor("value"), nullptr);
  EXPECT_EQ(custom.attr_tensor("value")->to_floats(), (std::vector<float>{1.5f, -2.25f}));
  EXPECT_EQ(custom.find_attribute("pair")->tensors[0].to_int64s(), (std::vector<int64_t>{-7}));
  EXPECT_EQ(back.graph.nodes[1].inputs[1], "");
  EXPECT_EQ(back.graph.find_input("input")->shape[0].param, "batch");
  EXPECT_FALSE(back.graph.find_input("input")->shape[0].is_fixed());
  EXPECT_TRUE(back.graph.find_output("scalar_out")->has_shape);
  EXPECT_TRUE(back.graph.find_output("scalar_out")->shape.empty());
  EXPECT_FALSE(back.graph.value_infos[0].has_shape);
  EXPECT_FALSE(back.graph.value_infos[1].is_tensor);
  // Writing the parsed model again gives the same bytes.
  EXPECT_EQ(write_onnx(back), bytes);
}

TEST(OnnxRoundTrip, WrittenModelValidatesAndSorts) {
  const OnnxModel m = parse_onnx(write_onnx(feature_model()));
  EXPECT_NO_THROW(validate_graph(m.graph));
  EXPECT_EQ(topological_order(m.graph), (std::vector<size_t>{0, 1, 2, 3}));
}

TEST(OnnxRoundTrip, AttributeGettersCheckTypes) {
  const OnnxModel m = feature_model();
  const OnnxNode& conv = m.graph.nodes[0];
  expect_error([&] { conv.attr_int("pads", 0); }, ErrorCode::kFormat, {"conv0", "Conv", "pads", "INTS"});
  expect_error([&] { conv.attr_float("group", 0); }, ErrorCode::kFormat, {"group", "INT"});
  expect_error([&] { m.graph.initializers[0].int64s(); }, ErrorCode::kFormat, {"conv.w", "FLOAT"});
  expect_error([&] { m.graph.find_initializer("labels")->to_floats(); }, ErrorCode::kUnsupported, {"labels"});
}

TEST(OnnxRoundTrip, WriterChecksTensors) {
  OnnxModel m = feature_model();
  m.graph.initializers[0].raw.pop_back();
  expect_error([&] { write_onnx(m); }, ErrorCode::kInvalidArgument, {"conv.w", "bytes"});
  OnnxWriteOptions unchecked;
  unchecked.check = false;
  EXPECT_NO_THROW(write_onnx(m, unchecked));
  OnnxModel no_opset = feature_model();
  no_opset.opset_imports.clear();
  expect_error([&] { write_onnx(no_opset); }, ErrorCode::kInvalidArgument, {"opset"});
  expect_error([] { ob::float_tensor("t", {2, 2}, std::vector<float>{1.f}); }, ErrorCode::kInvalidArgument,
               {"'t'", "1 values"});
}

// Typed data fields (not written by our writer, but by other exporters).
TEST(OnnxTypedFields, AreDecodedIntoRaw) {
  auto tensor = [](const char* name, int32_t dtype, std::vector<int64_t> dims, const Fill& data) {
    return message([&](protozero::pbf_writer& t) {
      for (auto d : dims) t.add_int64(1, d);
      t.add_int32(2, dtype);
      t.add_string(8, name);
      data(t);
    });
  };
  const std::vector<float> fl{1.f, -2.f, 3.5f};
  const std::vector<int64_t> i64{-1, 0, 1ll << 40};
  const std::string graph = message([&](protozero::pbf_writer& g) {
    g.add_message(5, tensor("f_packed", 1, {3}, [&](auto& t) { t.add_packed_float(4, fl.begin(), fl.end()); }));
    g.add_message(5, tensor("f_unpacked", 1, {3}, [&](auto& t) {
      for (float f : fl) t.add_float(4, f);
    }));
    g.add_message(5, tensor("f_split", 1, {3}, [&](auto& t) {  // one packed run plus one loose value
      t.add_packed_float(4, fl.begin(), fl.begin() + 2);
      t.add_float(4, fl[2]);
    }));
    g.add_message(5, tensor("i64_packed", 7, {3}, [&](auto& t) { t.add_packed_int64(7, i64.begin(), i64.end()); }));
    g.add_message(5, tensor("i64_unpacked", 7, {3}, [&](auto& t) {
      for (auto v : i64) t.add_int64(7, v);
    }));
    const std::vector<int32_t> i8{-128, 127, -1};
    g.add_message(5, tensor("i8", 3, {3}, [&](auto& t) { t.add_packed_int32(5, i8.begin(), i8.end()); }));
    const std::vector<int32_t> b{1, 0, 5};
    g.add_message(5, tensor("bool", 9, {3}, [&](auto& t) { t.add_packed_int32(5, b.begin(), b.end()); }));
    const std::vector<int32_t> h{0x3c00, 0xc000};
    g.add_message(5, tensor("f16", 10, {2}, [&](auto& t) { t.add_packed_int32(5, h.begin(), h.end()); }));
    const std::vector<int32_t> i32{-5, 1 << 30};
    g.add_message(5, tensor("i32", 6, {2}, [&](auto& t) { t.add_packed_int32(5, i32.begin(), i32.end()); }));
    const std::vector<double> d{0.25, -1e300};
    g.add_message(5, tensor("f64", 11, {2}, [&](auto& t) { t.add_packed_double(10, d.begin(), d.end()); }));
    const std::vector<uint64_t> u{4000000000u, 7};
    g.add_message(5, tensor("u32", 12, {2}, [&](auto& t) { t.add_packed_uint64(11, u.begin(), u.end()); }));
    g.add_message(5, tensor("str", 8, {2}, [&](auto& t) {
      t.add_string(6, "x");
      t.add_string(6, "yz");
    }));
  });
  const OnnxModel m = parse_onnx(model_with_graph(graph));
  const auto& g = m.graph;
  ASSERT_EQ(g.initializers.size(), 12u);
  for (const char* name : {"f_packed", "f_unpacked", "f_split"}) {
    const auto v = g.find_initializer(name)->floats();
    EXPECT_EQ(std::vector<float>(v.begin(), v.end()), fl) << name;
  }
  for (const char* name : {"i64_packed", "i64_unpacked"}) {
    const auto v = g.find_initializer(name)->int64s();
    EXPECT_EQ(std::vector<int64_t>(v.begin(), v.end()), i64) << name;
  }
  EXPECT_EQ(g.find_initializer("i8")->raw, (std::vector<uint8_t>{0x80, 0x7f, 0xff}));
  EXPECT_EQ(g.find_initializer("i8")->to_int64s(), (std::vector<int64_t>{-128, 127, -1}));
  EXPECT_EQ(g.find_initializer("bool")->raw, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(g.find_initializer("f16")->to_floats(), (std::vector<float>{1.f, -2.f}));
  const auto i32 = g.find_initializer("i32")->int32s();
  EXPECT_EQ(std::vector<int32_t>(i32.begin(), i32.end()), (std::vector<int32_t>{-5, 1 << 30}));
  EXPECT_EQ(g.find_initializer("f64")->to_floats()[0], 0.25f);
  EXPECT_EQ(g.find_initializer("u32")->to_int64s(), (std::vector<int64_t>{4000000000ll, 7}));
  EXPECT_EQ(g.find_initializer("str")->strings, (std::vector<std::string>{"x", "yz"}));
  // The writer turns them into raw_data, and they read back the same.
  const OnnxModel again = parse_onnx(write_onnx(m));
  for (size_t k = 0; k < g.initializers.size(); ++k) expect_same_tensor(g.initializers[k], again.graph.initializers[k]);
}

TEST(OnnxTypedFields, MismatchesAreRejected) {
  auto t = [](const Fill& f) { return model_with_initializer(message(f)); };
  // float_data holding 2 values for 3 elements.
  expect_parse_error(t([](auto& w) {
                       w.add_int64(1, 3);
                       w.add_int32(2, 1);
                       w.add_string(8, "short");
                       const std::vector<float> v{1.f, 2.f};
                       w.add_packed_float(4, v.begin(), v.end());
                     }),
                     ErrorCode::kFormat, {"'short'", "2 values in float_data", "need 3"});
  // int64_data for a FLOAT tensor.
  expect_parse_error(t([](auto& w) {
                       w.add_int64(1, 1);
                       w.add_int32(2, 1);
                       w.add_string(8, "wrongfield");
                       w.add_int64(7, 5);
                     }),
                     ErrorCode::kFormat, {"'wrongfield'", "int64_data", "float_data"});
  // Both raw_data and float_data.
  expect_parse_error(t([](auto& w) {
                       w.add_int64(1, 1);
                       w.add_int32(2, 1);
                       w.add_string(8, "both");
                       w.add_float(4, 1.f);
                       w.add_bytes(9, raw_of({1.f}));
                     }),
                     ErrorCode::kFormat, {"'both'", "more than one"});
  // No data_type.
  expect_parse_error(t([](auto& w) {
                       w.add_int64(1, 1);
                       w.add_string(8, "untyped");
                       w.add_bytes(9, raw_of({1.f}));
                     }),
                     ErrorCode::kFormat, {"'untyped'", "no data_type"});
  // No data at all for 4 elements.
  expect_parse_error(t([](auto& w) {
                       w.add_int64(1, 4);
                       w.add_int32(2, 1);
                       w.add_string(8, "nodata");
                     }),
                     ErrorCode::kFormat, {"'nodata'", "no data"});
  // STRING tensor in raw_data.
  expect_parse_error(t([](auto& w) {
                       w.add_int64(1, 1);
                       w.add_int32(2, 8);
                       w.add_string(8, "rawstr");
                       w.add_bytes(9, "abcd");
                     }),
                     ErrorCode::kFormat, {"'rawstr'", "STRING"});
  // Packed float_data whose length is not a multiple of 4.
  expect_parse_error(t([](auto& w) {
                       w.add_int64(1, 1);
                       w.add_int32(2, 1);
                       w.add_bytes(4, "abcde");
                     }),
                     ErrorCode::kFormat, {"multiple of 4", "float_data"});
}

TEST(OnnxTypedFields, UnknownDtypeIsKeptWithRawData) {
  const auto bytes = model_with_initializer(message([](auto& w) {
    w.add_int64(1, 2);
    w.add_int32(2, 99);
    w.add_string(8, "future");
    w.add_bytes(9, "xyz");
  }));
  const OnnxModel m = parse_onnx(bytes);
  EXPECT_EQ(static_cast<int>(m.graph.initializers[0].dtype), 99);
  EXPECT_EQ(m.graph.initializers[0].raw.size(), 3u);
  EXPECT_EQ(onnx_dtype_name(m.graph.initializers[0].dtype), "dtype(99)");
  // Its size still counts against the limit.
  OnnxLimits small;
  small.max_tensor_bytes = 2;
  expect_parse_error(bytes, ErrorCode::kLimit, {"'future'", "max_tensor_bytes"}, small);
  // And typed fields of an unknown dtype cannot be decoded.
  expect_parse_error(model_with_initializer(message([](auto& w) {
                       w.add_int64(1, 1);
                       w.add_int32(2, 99);
                       w.add_string(8, "future2");
                       w.add_int32(5, 1);
                     })),
                     ErrorCode::kUnsupported, {"'future2'", "int32_data"});
  // A known dtype's size is checked against dims even for 4-bit types.
  expect_parse_error(model_with_initializer(message([](auto& w) {
                       w.add_int64(1, 3);
                       w.add_int32(2, 22);  // INT4: 3 elements need 2 bytes
                       w.add_string(8, "nibbles");
                       w.add_bytes(9, "abc");
                     })),
                     ErrorCode::kFormat, {"'nibbles'", "INT4", "need 2"});
}

// ---- the torchvision exports ----

struct SharedModel {
  const char* file;
  size_t min_nodes;
};

class OnnxTorchvision : public ::testing::TestWithParam<SharedModel> {
 protected:
  void SetUp() override {
    const auto dir = test::shared_dir();
    if (!dir) GTEST_SKIP() << "no shared/ directory beside the repository: torchvision exports unavailable";
    bytes_ = test::read_bytes(*dir + "/models/" + GetParam().file);
    ASSERT_GT(bytes_.size(), 1000000u);
  }
  std::vector<uint8_t> bytes_;
};

TEST_P(OnnxTorchvision, ParsesWithExpectedStructure) {
  const OnnxModel m = parse_onnx(bytes_);
  EXPECT_EQ(m.ir_version, 7);
  EXPECT_EQ(m.producer_name, "pytorch");
  EXPECT_EQ(m.opset_version(), 13);
  EXPECT_EQ(m.opset_imports.size(), 1u);
  const OnnxGraph& g = m.graph;
  EXPECT_GT(g.nodes.size(), GetParam().min_nodes);

  // One input "input" of [batch, 3, 224, 224] with a symbolic batch, one output "logits" of [batch, 1000].
  ASSERT_EQ(g.inputs.size(), 1u);
  const OnnxValueInfo& in = g.inputs[0];
  EXPECT_EQ(in.name, "input");
  EXPECT_EQ(in.elem_type, DT::kFloat);
  ASSERT_TRUE(in.has_shape);
  ASSERT_EQ(in.shape.size(), 4u);
  EXPECT_FALSE(in.shape[0].is_fixed());
  EXPECT_EQ(in.shape[0].param, "batch");
  EXPECT_EQ(in.shape[1].value, 3);
  EXPECT_EQ(in.shape[2].value, 224);
  EXPECT_EQ(in.shape[3].value, 224);
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "logits");
  ASSERT_EQ(g.outputs[0].shape.size(), 2u);
  EXPECT_EQ(g.outputs[0].shape[0].param, "batch");
  EXPECT_EQ(g.outputs[0].shape[1].value, 1000);

  // Every initializer is FLOAT raw data; the classifier weight is [1000, 1280 or 1024].
  std::set<std::string> ops;
  for (const auto& n : g.nodes) ops.insert(n.op_type);
  for (const char* op : {"Conv", "Add", "Gemm", "Flatten", "GlobalAveragePool"}) {
    EXPECT_TRUE(ops.count(op)) << op;
  }
  size_t bytes = 0;
  for (const auto& t : g.initializers) {
    EXPECT_EQ(t.dtype, DT::kFloat) << t.name;
    EXPECT_EQ(t.raw.size(), static_cast<size_t>(t.element_count()) * 4) << t.name;
    bytes += t.raw.size();
  }
  EXPECT_GT(bytes, bytes_.size() * 9 / 10);  // the weights are nearly the whole file
  const OnnxTensor* fc = g.find_initializer("classifier.3.weight");
  if (fc == nullptr) fc = g.find_initializer("classifier.1.weight");  // mobilenet_v2
  ASSERT_NE(fc, nullptr);
  ASSERT_EQ(fc->dims.size(), 2u);
  EXPECT_EQ(fc->dims[0], 1000);

  // Conv nodes carry their attributes; the first conv is the 3x3 stride-2 stem.
  const OnnxNode* stem = nullptr;
  for (const auto& n : g.nodes) {
    if (n.op_type == "Conv") {
      stem = &n;
      break;
    }
  }
  ASSERT_NE(stem, nullptr);
  EXPECT_EQ(stem->inputs[0], "input");
  EXPECT_EQ(stem->attr_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(stem->attr_ints("strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(stem->attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(stem->attr_int("group", 0), 1);
  const OnnxTensor* stem_w = g.find_initializer(stem->inputs[1]);
  ASSERT_NE(stem_w, nullptr);
  EXPECT_EQ(stem_w->dims[1], 3);
  EXPECT_EQ(stem_w->dims[2], 3);

  EXPECT_NO_THROW(validate_graph(g));
  const auto order = topological_order(g);
  ASSERT_EQ(order.size(), g.nodes.size());
  std::vector<size_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 0; k < sorted.size(); ++k) ASSERT_EQ(sorted[k], k);
}

TEST_P(OnnxTorchvision, RewritesToTheSameModel) {
  const OnnxModel m = parse_onnx(bytes_);
  const auto written = write_onnx(m);
  // Same fields as torch.onnx writes them; only the graph moves behind opset_import.
  EXPECT_EQ(written.size(), bytes_.size());
  const OnnxModel back = parse_onnx(written);
  expect_same_model(m, back);
  EXPECT_EQ(write_onnx(back), written);
}

TEST_P(OnnxTorchvision, TruncationAlwaysThrows) {
  // Every cut in the first and last 300 bytes, and ~150 cuts in between.
  std::vector<size_t> cuts;
  for (size_t k = 0; k < 300; ++k) cuts.push_back(k);
  for (size_t k = 300; k < bytes_.size() - 300; k += bytes_.size() / 150) cuts.push_back(k);
  for (size_t k = bytes_.size() - 300; k < bytes_.size(); ++k) cuts.push_back(k);
  for (size_t cut : cuts) {
    try {
      parse_onnx(std::span<const uint8_t>(bytes_.data(), cut));
      ADD_FAILURE() << "a file cut at " << cut << " parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kFormat) << cut << ": " << e.what();
    }
  }
}

TEST_P(OnnxTorchvision, ArchitectureSpecificOps) {
  const OnnxModel m = parse_onnx(bytes_);
  std::map<std::string, int> ops;
  for (const auto& n : m.graph.nodes) ++ops[n.op_type];
  if (std::string(GetParam().file) == "mobilenet_v2.onnx") {
    // ReLU6 is exported as Clip with Constant scalar min/max inputs.
    EXPECT_EQ(ops["Clip"], 35);
    EXPECT_EQ(ops["Constant"], 70);
    for (const auto& n : m.graph.nodes) {
      if (n.op_type != "Constant") continue;
      const OnnxTensor* v = n.attr_tensor("value");
      ASSERT_NE(v, nullptr);
      EXPECT_TRUE(v->dims.empty());  // a scalar
      const float x = v->to_floats().at(0);
      EXPECT_TRUE(x == 0.f || x == 6.f) << x;
    }
  } else {
    // Hardswish is exported as HardSigmoid(alpha=1/6) * x at opset 13.
    EXPECT_GT(ops["HardSigmoid"], 20);
    EXPECT_EQ(ops["HardSigmoid"], ops["Mul"]);
    EXPECT_EQ(ops.count("Constant"), 0u);
    for (const auto& n : m.graph.nodes) {
      if (n.op_type == "HardSigmoid") {
        EXPECT_NEAR(n.attr_float("alpha", 0.f), 1.f / 6, 1e-6);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, OnnxTorchvision,
                         ::testing::Values(SharedModel{"mobilenet_v3_small.onnx", 100},
                                           SharedModel{"mobilenet_v2.onnx", 100},
                                           SharedModel{"mobilenet_v3_large.onnx", 100}),
                         [](const auto& info) {
                           std::string s = info.param.file;
                           return s.substr(0, s.find('.'));
                         });

// ---- malformed protobuf ----

TEST(OnnxMalformed, TruncatedAtEveryOffsetThrows) {
  const auto bytes = write_onnx(feature_model());
  ASSERT_GT(bytes.size(), 500u);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    try {
      parse_onnx(std::span<const uint8_t>(bytes.data(), cut));
      ADD_FAILURE() << "a file cut at " << cut << " of " << bytes.size() << " parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kFormat) << cut << ": " << e.what();
    }
  }
}

TEST(OnnxMalformed, TruncatedFieldNamesTheOffset) {
  auto bytes = write_onnx(feature_model());
  bytes.resize(bytes.size() - 40);  // inside the graph's trailing value infos
  expect_parse_error(bytes, ErrorCode::kFormat, {"truncated", "graph", "byte offset"});
}

TEST(OnnxMalformed, BadVarint) {
  // ir_version (field 1, varint) with 11 continuation bytes.
  std::vector<uint8_t> bytes{0x08};
  bytes.insert(bytes.end(), 11, 0xff);
  bytes.push_back(0x01);
  expect_parse_error(bytes, ErrorCode::kFormat, {"varint", "byte offset 0"});
  // A varint cut by the end of the file.
  expect_parse_error({0x08, 0x80, 0x80}, ErrorCode::kFormat, {"truncated"});
  // A bad varint inside a node: the message names the node.
  const std::string node = message([](auto& n) {
                             n.add_string(3, "bad_node");
                             n.add_string(4, "Relu");
                           }) +
                           std::string("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
  expect_parse_error(model_with_node(node), ErrorCode::kFormat, {"varint", "node[0] 'bad_node' (Relu)"});
}

TEST(OnnxMalformed, WrongWireType) {
  // ir_version as fixed32.
  expect_parse_error({0x0d, 1, 0, 0, 0}, ErrorCode::kFormat, {"wire type", "ir_version"});
  // A node's op_type (field 4, a string) as a varint.
  const std::string node = message([](auto& n) {
    n.add_string(3, "n0");
    n.add_int64(4, 5);
  });
  expect_parse_error(model_with_node(node), ErrorCode::kFormat, {"wire type", "op_type", "node[0] 'n0'"});
  // Tensor dims as fixed64.
  const std::string tensor = message([](auto& t) {
    t.add_string(8, "dims64");
    t.add_fixed64(1, 3);
  });
  expect_parse_error(model_with_initializer(tensor), ErrorCode::kFormat, {"wire type", "dims", "'dims64'"});
  // Wire types 3/4 (groups) and 6/7 do not exist in this format.
  expect_parse_error({0x0b}, ErrorCode::kFormat, {"wire type"});
  expect_parse_error({0x0e}, ErrorCode::kFormat, {"wire type"});
  // Field number 0.
  expect_parse_error({0x00, 0x00}, ErrorCode::kFormat, {"field number"});
}

TEST(OnnxMalformed, LengthBeyondTheBuffer) {
  // graph field claiming 2^40 bytes.
  std::vector<uint8_t> bytes{0x08, 0x07, 0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20};
  expect_parse_error(bytes, ErrorCode::kFormat, {"truncated", "claims 1099511627776 bytes"});
  // 2^32 + 1 would wrap to 1 in a 32-bit length.
  bytes = {0x08, 0x07, 0x3a, 0x81, 0x80, 0x80, 0x80, 0x10, 0x00};
  expect_parse_error(bytes, ErrorCode::kFormat, {"claims 4294967297 bytes"});
}

TEST(OnnxMalformed, MissingModelParts) {
  expect_parse_error({}, ErrorCode::kFormat, {"no ir_version"});
  expect_parse_error({0x08, 0x07}, ErrorCode::kFormat, {"no graph"});
  expect_parse_error({0x08, 0x07, 0x3a, 0x00}, ErrorCode::kFormat, {"no opset_import"});
  expect_parse_error({0x08, 0x07, 0x3a, 0x00, 0x3a, 0x00, 0x42, 0x02, 0x10, 0x0d}, ErrorCode::kFormat,
                     {"two graph"});
  expect_parse_error({0x08, 0x07, 0x3a, 0x00, 0x42, 0x02, 0x10, 0x0d, 0x42, 0x02, 0x10, 0x0c}, ErrorCode::kFormat,
                     {"imported twice"});
  // The smallest valid model: an empty graph.
  const OnnxModel m = parse_onnx(std::vector<uint8_t>{0x08, 0x07, 0x3a, 0x00, 0x42, 0x02, 0x10, 0x0d});
  EXPECT_EQ(m.opset_version(), 13);
  EXPECT_TRUE(m.graph.nodes.empty());
}

// ---- malformed tensors ----

std::string float_tensor_msg(const char* name, std::vector<int64_t> dims, const std::string& raw) {
  return message([&](auto& t) {
    for (auto d : dims) t.add_int64(1, d);
    t.add_int32(2, 1);
    t.add_string(8, name);
    t.add_bytes(9, raw);
  });
}

TEST(OnnxMalformedTensor, RawDataLengthMismatch) {
  expect_parse_error(model_with_initializer(float_tensor_msg("w.short", {2, 3}, raw_of({1, 2, 3, 4, 5}))),
                     ErrorCode::kFormat, {"raw_data of tensor 'w.short'", "20 bytes", "[2, 3]", "need 24"});
  // Same through the writer with checks off, in an attribute tensor.
  OnnxModel m = feature_model();
  m.graph.nodes[3].attributes[4].t.raw.push_back(0);
  OnnxWriteOptions unchecked;
  unchecked.check = false;
  expect_parse_error(write_onnx(m, unchecked), ErrorCode::kFormat,
                     {"raw_data", "9 bytes", "need 8", "node[3] 'custom0' (Custom)", "attribute[4] 'value'"});
}

TEST(OnnxMalformedTensor, NegativeDim) {
  expect_parse_error(model_with_initializer(float_tensor_msg("neg", {2, -3}, raw_of({1, 2}))), ErrorCode::kFormat,
                     {"'neg'", "negative dim -3"});
  // And a negative dim_value in a value-info shape.
  const std::string vi = message([](auto& v) {
    v.add_string(1, "bad_shape");
    v.add_message(2, message([](auto& type) {
                    type.add_message(1, message([](auto& tt) {
                                       tt.add_int32(1, 1);
                                       tt.add_message(2, message([](auto& shape) {
                                                        shape.add_message(1, message([](auto& d) {
                                                                            d.add_int64(1, -5);
                                                                          }));
                                                      }));
                                     }));
                  }));
  });
  expect_parse_error(model_with_graph(message([&](auto& g) { g.add_message(12, vi); })), ErrorCode::kFormat,
                     {"negative dim_value -5", "output[0] 'bad_shape'"});
}

TEST(OnnxMalformedTensor, OverflowingDims) {
  expect_parse_error(
      model_with_initializer(float_tensor_msg("huge", {1ll << 32, 1ll << 32}, raw_of({1}))), ErrorCode::kFormat,
      {"'huge'", "overflows"});
  // Each dim fits and the product too, but not in bytes under the limit: a limit error, not a crash.
  expect_parse_error(model_with_initializer(float_tensor_msg("big", {1ll << 30, 1ll << 30}, raw_of({1}))),
                     ErrorCode::kLimit, {"'big'", "max_tensor_bytes"});
  // A zero dim makes the product zero however large the others are.
  const OnnxModel m =
      parse_onnx(model_with_initializer(float_tensor_msg("zero", {0, 1ll << 62, 1ll << 62}, "")));
  EXPECT_EQ(m.graph.initializers[0].element_count(), 0);
}

TEST(OnnxMalformedTensor, ExternalData) {
  const std::string tensor = message([](auto& t) {
    t.add_int64(1, 4);
    t.add_int32(2, 1);
    t.add_string(8, "ext.weight");
    t.add_message(13, message([](auto& e) {
                    e.add_string(1, "location");
                    e.add_string(2, "weights.bin");
                  }));
    t.add_int32(14, 1);
  });
  expect_parse_error(model_with_initializer(tensor), ErrorCode::kUnsupported,
                     {"'ext.weight'", "external", "initializer[0]"});
}

TEST(OnnxMalformedTensor, SegmentedAndSparse) {
  const std::string tensor = message([](auto& t) {
    t.add_int32(2, 1);
    t.add_string(8, "seg");
    t.add_message(3, message([](auto& s) { s.add_int64(1, 0); }));
  });
  expect_parse_error(model_with_initializer(tensor), ErrorCode::kUnsupported, {"'seg'", "segmented"});
  expect_parse_error(model_with_graph(message([](auto& g) { g.add_message(15, std::string("\x0a\x00", 2)); })),
                     ErrorCode::kUnsupported, {"sparse"});
}

TEST(OnnxMalformedTensor, RawDataTwice) {
  const std::string tensor = message([](auto& t) {
    t.add_int64(1, 1);
    t.add_int32(2, 1);
    t.add_string(8, "twice");
    t.add_bytes(9, raw_of({1.f}));
    t.add_bytes(9, raw_of({2.f}));
  });
  expect_parse_error(model_with_initializer(tensor), ErrorCode::kFormat, {"raw_data appears twice", "'twice'"});
}

// ---- malformed attributes ----

TEST(OnnxMalformedAttribute, GraphValuedAttributeNamesTheNode) {
  const std::string attr = message([](auto& a) {
    a.add_string(1, "then_branch");
    a.add_message(6, message([](auto& g) { g.add_string(2, "body"); }));
    a.add_int32(20, 5);
  });
  const std::string node = message([&](auto& n) {
    n.add_string(1, "cond");
    n.add_string(2, "out");
    n.add_string(3, "if_node");
    n.add_string(4, "If");
    n.add_message(5, attr);
  });
  expect_parse_error(model_with_node(node), ErrorCode::kUnsupported,
                     {"node[0] 'if_node' (If)", "'then_branch'", "subgraph"});
  // Declared GRAPH without the field.
  const std::string node2 = message([](auto& n) {
    n.add_string(3, "loop_node");
    n.add_string(4, "Loop");
    n.add_message(5, message([](auto& a) {
                    a.add_string(1, "body");
                    a.add_int32(20, 5);
                  }));
  });
  expect_parse_error(model_with_node(node2), ErrorCode::kUnsupported, {"'loop_node' (Loop)", "GRAPH"});
}

TEST(OnnxMalformedAttribute, TypeMismatchAndInference) {
  const std::string bad = message([](auto& n) {
    n.add_string(3, "n");
    n.add_string(4, "Conv");
    n.add_message(5, message([](auto& a) {
                    a.add_string(1, "pads");
                    a.add_float(2, 1.f);
                    a.add_int32(20, 7);  // INTS
                  }));
  });
  expect_parse_error(model_with_node(bad), ErrorCode::kFormat, {"'pads'", "declared INTS", "FLOAT"});
  // IR version 1 style: no type field, inferred from the one value present; packed ints accepted too.
  const std::string old = message([](auto& n) {
    n.add_string(4, "Conv");
    n.add_message(5, message([](auto& a) {
                    a.add_string(1, "pads");
                    const std::vector<int64_t> v{0, 1, -2, 3};
                    a.add_packed_int64(8, v.begin(), v.end());
                  }));
  });
  const OnnxModel m = parse_onnx(model_with_node(old));
  EXPECT_EQ(m.graph.nodes[0].attributes[0].type, OnnxAttrType::kInts);
  EXPECT_EQ(m.graph.nodes[0].attr_ints("pads"), (std::vector<int64_t>{0, 1, -2, 3}));
  // No type and no value.
  const std::string none = message([](auto& n) {
    n.add_string(4, "Conv");
    n.add_message(5, message([](auto& a) { a.add_string(1, "empty"); }));
  });
  expect_parse_error(model_with_node(none), ErrorCode::kFormat, {"'empty'", "no type"});
  // Unknown type number.
  const std::string unknown = message([](auto& n) {
    n.add_string(4, "Conv");
    n.add_message(5, message([](auto& a) {
                    a.add_string(1, "odd");
                    a.add_int32(20, 99);
                  }));
  });
  expect_parse_error(model_with_node(unknown), ErrorCode::kUnsupported, {"'odd'", "type 99"});
  // TENSOR declared, no tensor given (found by fuzzing).
  const std::string no_tensor = message([](auto& n) {
    n.add_string(3, "c0");
    n.add_string(4, "Constant");
    n.add_message(5, message([](auto& a) {
                    a.add_string(1, "value");
                    a.add_int32(20, 4);
                  }));
  });
  expect_parse_error(model_with_node(no_tensor), ErrorCode::kFormat,
                     {"node[0] 'c0' (Constant)", "'value'", "declared TENSOR but holds no tensor"});
  // Absent scalars read as their protobuf defaults.
  const std::string no_int = message([](auto& n) {
    n.add_string(4, "Flatten");
    n.add_message(5, message([](auto& a) {
                    a.add_string(1, "axis");
                    a.add_int32(20, 2);
                  }));
  });
  EXPECT_EQ(parse_onnx(model_with_node(no_int)).graph.nodes[0].attr_int("axis", 1), 0);
}

TEST(OnnxMalformedAttribute, DuplicateAttributeName) {
  OnnxModel m = feature_model();
  m.graph.nodes[0].attributes.push_back(ob::attr_int("group", 2));
  expect_parse_error(write_onnx(m), ErrorCode::kFormat, {"'group' appears twice", "node[0] 'conv0' (Conv)"});
}

// ---- limits ----

TEST(OnnxLimitsTest, TensorAboveTheLimit) {
  const auto bytes = write_onnx(feature_model());
  OnnxLimits limits;
  limits.max_tensor_bytes = 200;  // conv.w has 216 bytes
  expect_parse_error(bytes, ErrorCode::kLimit, {"'conv.w'", "max_tensor_bytes"}, limits);
  limits.max_tensor_bytes = 216;
  EXPECT_NO_THROW(parse_onnx(bytes, limits));
}

TEST(OnnxLimitsTest, EveryLimitIsEnforced) {
  const auto bytes = write_onnx(feature_model());
  {
    OnnxLimits l;
    l.max_file_bytes = bytes.size() - 1;
    expect_parse_error(bytes, ErrorCode::kLimit, {"max_file_bytes"}, l);
  }
  {
    OnnxLimits l;
    l.max_nodes = 3;
    expect_parse_error(bytes, ErrorCode::kLimit, {"4 nodes", "max_nodes"}, l);
  }
  {
    OnnxLimits l;
    l.max_total_tensor_bytes = 220;
    expect_parse_error(bytes, ErrorCode::kLimit, {"max_total_tensor_bytes"}, l);
  }
  {
    OnnxLimits l;
    l.max_rank = 3;  // conv.w has rank 4
    expect_parse_error(bytes, ErrorCode::kLimit, {"'conv.w' has 4 dims", "max_rank"}, l);
  }
  {
    OnnxLimits l;
    l.max_string_bytes = 8;  // the model's domain "org.iciia" has 9
    expect_parse_error(bytes, ErrorCode::kLimit, {"a string of 9 bytes", "max_string_bytes", "field domain"}, l);
  }
  {
    OnnxLimits l;
    l.max_list_elements = 3;  // "pads" has 4 ints
    expect_parse_error(bytes, ErrorCode::kLimit, {"max_list_elements"}, l);
  }
  {
    OnnxLimits l;
    l.max_decoded_bytes = 1000;
    expect_parse_error(bytes, ErrorCode::kLimit, {"max_decoded_bytes"}, l);
  }
}

TEST(OnnxLimitsTest, ManyEmptyNodesHitTheBudgetNotTheAllocator) {
  // 2 bytes per empty node in the file, but hundreds of bytes per OnnxNode in memory.
  std::string graph;
  for (int k = 0; k < 50000; ++k) graph += std::string("\x0a\x00", 2);
  OnnxLimits l;
  l.max_decoded_bytes = 1 << 20;
  expect_parse_error(model_with_graph(graph), ErrorCode::kLimit, {"max_decoded_bytes"}, l);
  l.max_decoded_bytes = OnnxLimits{}.max_decoded_bytes;
  l.max_nodes = 1000;
  expect_parse_error(model_with_graph(graph), ErrorCode::kLimit, {"50000 nodes"}, l);
}

// ---- graph semantics ----

OnnxGraph chain_graph() {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  g.initializers.push_back(ob::float_tensor("w", {4}, std::vector<float>{1, 2, 3, 4}));
  g.nodes.push_back(ob::node("Mul", {"x", "w"}, {"a"}, {}, "mul0"));
  g.nodes.push_back(ob::node("Relu", {"a"}, {"b"}, {}, "relu0"));
  g.nodes.push_back(ob::node("Add", {"a", "b"}, {"y"}, {}, "add0"));
  g.outputs.push_back(ob::value_info("y", DT::kFloat, {1, 4}));
  return g;
}

TEST(OnnxGraphCheck, ValidChain) {
  const OnnxGraph g = chain_graph();
  EXPECT_NO_THROW(validate_graph(g));
  EXPECT_EQ(topological_order(g), (std::vector<size_t>{0, 1, 2}));
}

TEST(OnnxGraphCheck, TopologicalOrderSortsReversedNodes) {
  OnnxGraph g = chain_graph();
  std::reverse(g.nodes.begin(), g.nodes.end());  // add0, relu0, mul0
  EXPECT_NO_THROW(validate_graph(g));
  EXPECT_EQ(topological_order(g), (std::vector<size_t>{2, 1, 0}));
  // Independent nodes keep their file order.
  OnnxGraph p;
  p.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 1}));
  for (int k = 0; k < 5; ++k) p.nodes.push_back(ob::node("Relu", {"x"}, {std::string("r").append(std::to_string(k))}));
  EXPECT_EQ(topological_order(p), (std::vector<size_t>{0, 1, 2, 3, 4}));
}

TEST(OnnxGraphCheck, DuplicateNodeOutputs) {
  OnnxGraph g = chain_graph();
  g.nodes[1].outputs = {"a"};  // relu0 also produces "a"
  expect_error([&] { validate_graph(g); }, ErrorCode::kFormat,
               {"node #1 'relu0' (Relu) outputs 'a'", "already an output of node #0 'mul0' (Mul)"});
}

TEST(OnnxGraphCheck, InitializerAndNodeOutputShareAName) {
  OnnxGraph g = chain_graph();
  g.nodes[0].outputs = {"w"};
  expect_error([&] { validate_graph(g); }, ErrorCode::kFormat, {"'mul0' (Mul) outputs 'w'", "an initializer"});
  OnnxGraph h = chain_graph();
  h.nodes[1].outputs = {"x"};
  expect_error([&] { validate_graph(h); }, ErrorCode::kFormat, {"'relu0' (Relu) outputs 'x'", "a graph input"});
}

TEST(OnnxGraphCheck, DuplicateInputsAndInitializers) {
  OnnxGraph g = chain_graph();
  g.inputs.push_back(g.inputs[0]);
  expect_error([&] { validate_graph(g); }, ErrorCode::kFormat, {"graph input 'x' is listed twice"});
  OnnxGraph h = chain_graph();
  h.initializers.push_back(h.initializers[0]);
  expect_error([&] { validate_graph(h); }, ErrorCode::kFormat, {"initializer 'w' appears twice"});
  // An initializer that is also a graph input is allowed (IR < 4 exports list them).
  OnnxGraph k = chain_graph();
  k.inputs.push_back(ob::value_info("w", DT::kFloat, {4, 1}));
  EXPECT_NO_THROW(validate_graph(k));
}

TEST(OnnxGraphCheck, DanglingInput) {
  OnnxGraph g = chain_graph();
  g.nodes[1].inputs = {"nowhere"};
  expect_error([&] { validate_graph(g); }, ErrorCode::kFormat,
               {"node #1 'relu0' (Relu) reads 'nowhere'", "dangling"});
  // An empty input name is an omitted optional input.
  OnnxGraph h = chain_graph();
  h.nodes[1].inputs = {"a", ""};
  EXPECT_NO_THROW(validate_graph(h));
}

TEST(OnnxGraphCheck, TwoNodeCycle) {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 1}));
  g.nodes.push_back(ob::node("Add", {"x", "q"}, {"p"}, {}, "first"));
  g.nodes.push_back(ob::node("Relu", {"p"}, {"q"}, {}, "second"));
  g.outputs.push_back(ob::value_info("q", DT::kFloat, {1, 1}));
  for (auto f : {std::function<void()>([&] { topological_order(g); }),
                 std::function<void()>([&] { validate_graph(g); })}) {
    expect_error(f, ErrorCode::kFormat,
                 {"cycle", "node #0 'first' (Add) reads 'q' from node #1 'second' (Relu)",
                  "node #1 'second' (Relu) reads 'p' from node #0 'first' (Add)"});
  }
  // A node reading its own output.
  OnnxGraph s;
  s.nodes.push_back(ob::node("Relu", {"z"}, {"z"}, {}, "self"));
  expect_error([&] { topological_order(s); }, ErrorCode::kFormat, {"cycle", "'self' (Relu) reads 'z'"});
}

TEST(OnnxGraphCheck, CycleBehindAnAcyclicPrefix) {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", DT::kFloat, {1, 1}));
  g.nodes.push_back(ob::node("Relu", {"x"}, {"a"}, {}, "ok"));
  g.nodes.push_back(ob::node("Add", {"a", "c"}, {"b"}, {}, "n1"));
  g.nodes.push_back(ob::node("Add", {"b"}, {"c"}, {}, "n2"));
  g.nodes.push_back(ob::node("Relu", {"c"}, {"d"}, {}, "after"));
  expect_error([&] { topological_order(g); }, ErrorCode::kFormat, {"cycle", "'n1'", "'n2'"});
}

TEST(OnnxGraphCheck, OutputProducedByNothing) {
  OnnxGraph g = chain_graph();
  g.outputs.push_back(ob::value_info("ghost", DT::kFloat, {1, 1}));
  expect_error([&] { validate_graph(g); }, ErrorCode::kFormat, {"graph output 'ghost' is produced by nothing"});
  // A graph input or an initializer may be an output directly.
  OnnxGraph h = chain_graph();
  h.outputs.push_back(ob::value_info("x", DT::kFloat, {1, 4}));
  h.outputs.push_back(ob::value_info("w", DT::kFloat, {4, 1}));
  EXPECT_NO_THROW(validate_graph(h));
}

TEST(OnnxGraphCheck, NamelessValuesAndOps) {
  OnnxGraph g = chain_graph();
  g.nodes[2].op_type = "";
  expect_error([&] { validate_graph(g); }, ErrorCode::kFormat, {"node #2 'add0' (no op_type) has no op_type"});
  OnnxGraph h = chain_graph();
  h.initializers[0].name = "";
  expect_error([&] { validate_graph(h); }, ErrorCode::kFormat, {"initializer #0 has no name"});
}

// ---- robustness ----

TEST(OnnxRobustness, RandomMutationsNeverCrash) {
  const auto original = write_onnx(feature_model());
  std::mt19937 rng(1234);
  int parsed = 0, rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    auto bytes = original;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % bytes.size();
      switch (rng() % 3) {
        case 0: bytes[pos] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1: bytes[pos] = static_cast<uint8_t>(rng()); break;
        default: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(pos)); break;
      }
    }
    OnnxLimits l;
    l.max_decoded_bytes = 64 << 20;
    try {
      const OnnxModel m = parse_onnx(bytes, l);
      ++parsed;
      try {
        validate_graph(m.graph);
        EXPECT_EQ(topological_order(m.graph).size(), m.graph.nodes.size());
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kFormat);
      }
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(parsed, 0);  // some edits only touch data bytes
}

}  // namespace
}  // namespace iciia
