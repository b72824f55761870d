// Helpers of the ONNX model structs (see onnx_model.h).
#include <bit>
#include <cstring>

#include "onnx/onnx_model.h"
#include "util/error.h"
#include "util/half.h"

namespace iciia {

static_assert(std::endian::native == std::endian::little,
              "OnnxTensor::raw is little-endian and is viewed in place");

std::string onnx_dtype_name(OnnxDataType dtype) {
  switch (dtype) {
    case OnnxDataType::kUndefined: return "UNDEFINED";
    case OnnxDataType::kFloat: return "FLOAT";
    case OnnxDataType::kUint8: return "UINT8";
    case OnnxDataType::kInt8: return "INT8";
    case OnnxDataType::kUint16: return "UINT16";
    case OnnxDataType::kInt16: return "INT16";
    case OnnxDataType::kInt32: return "INT32";
    case OnnxDataType::kInt64: return "INT64";
    case OnnxDataType::kString: return "STRING";
    case OnnxDataType::kBool: return "BOOL";
    case OnnxDataType::kFloat16: return "FLOAT16";
    case OnnxDataType::kDouble: return "DOUBLE";
    case OnnxDataType::kUint32: return "UINT32";
    case OnnxDataType::kUint64: return "UINT64";
    case OnnxDataType::kComplex64: return "COMPLEX64";
    case OnnxDataType::kComplex128: return "COMPLEX128";
    case OnnxDataType::kBfloat16: return "BFLOAT16";
    case OnnxDataType::kFloat8E4M3FN: return "FLOAT8E4M3FN";
    case OnnxDataType::kFloat8E4M3FNUZ: return "FLOAT8E4M3FNUZ";
    case OnnxDataType::kFloat8E5M2: return "FLOAT8E5M2";
    case OnnxDataType::kFloat8E5M2FNUZ: return "FLOAT8E5M2FNUZ";
    case OnnxDataType::kUint4: return "UINT4";
    case OnnxDataType::kInt4: return "INT4";
    case OnnxDataType::kFloat4E2M1: return "FLOAT4E2M1";
    case OnnxDataType::kFloat8E8M0: return "FLOAT8E8M0";
  }
  return "dtype(" + std::to_string(static_cast<int32_t>(dtype)) + ")";
}

size_t onnx_dtype_bits(OnnxDataType dtype) {
  switch (dtype) {
    case OnnxDataType::kUint8:
    case OnnxDataType::kInt8:
    case OnnxDataType::kBool:
    case OnnxDataType::kFloat8E4M3FN:
    case OnnxDataType::kFloat8E4M3FNUZ:
    case OnnxDataType::kFloat8E5M2:
    case OnnxDataType::kFloat8E5M2FNUZ:
    case OnnxDataType::kFloat8E8M0:
      return 8;
    case OnnxDataType::kUint16:
    case OnnxDataType::kInt16:
    case OnnxDataType::kFloat16:
    case OnnxDataType::kBfloat16:
      return 16;
    case OnnxDataType::kFloat:
    case OnnxDataType::kInt32:
    case OnnxDataType::kUint32:
      return 32;
    case OnnxDataType::kInt64:
    case OnnxDataType::kDouble:
    case OnnxDataType::kUint64:
    case OnnxDataType::kComplex64:
      return 64;
    case OnnxDataType::kComplex128:
      return 128;
    case OnnxDataType::kUint4:
    case OnnxDataType::kInt4:
    case OnnxDataType::kFloat4E2M1:
      return 4;
    case OnnxDataType::kUndefined:
    case OnnxDataType::kString:
      return 0;
  }
  return 0;
}

const char* onnx_attr_type_name(OnnxAttrType type) {
  switch (type) {
    case OnnxAttrType::kUndefined: return "UNDEFINED";
    case OnnxAttrType::kFloat: return "FLOAT";
    case OnnxAttrType::kInt: return "INT";
    case OnnxAttrType::kString: return "STRING";
    case OnnxAttrType::kTensor: return "TENSOR";
    case OnnxAttrType::kGraph: return "GRAPH";
    case OnnxAttrType::kFloats: return "FLOATS";
    case OnnxAttrType::kInts: return "INTS";
    case OnnxAttrType::kStrings: return "STRINGS";
    case OnnxAttrType::kTensors: return "TENSORS";
    case OnnxAttrType::kGraphs: return "GRAPHS";
    case OnnxAttrType::kSparseTensor: return "SPARSE_TENSOR";
    case OnnxAttrType::kSparseTensors: return "SPARSE_TENSORS";
    case OnnxAttrType::kTypeProto: return "TYPE_PROTO";
    case OnnxAttrType::kTypeProtos: return "TYPE_PROTOS";
  }
  return "UNKNOWN";
}

// ---- OnnxTensor ----

int64_t OnnxTensor::element_count() const {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) {
      throw Error(ErrorCode::kFormat, "ONNX tensor '" + name + "' has a negative dim " + std::to_string(d));
    }
  }
  for (int64_t d : dims) {
    if (d == 0) return 0;
  }
  for (int64_t d : dims) {
    if (__builtin_mul_overflow(n, d, &n)) {
      throw Error(ErrorCode::kFormat, "ONNX tensor '" + name + "': the product of its dims overflows");
    }
  }
  return n;
}

namespace {

template <typename T>
std::span<const T> view_as(const OnnxTensor& t, OnnxDataType want) {
  if (t.dtype != want) {
    throw Error(ErrorCode::kFormat, "ONNX tensor '" + t.name + "' is " + onnx_dtype_name(t.dtype) +
                                        ", not " + onnx_dtype_name(want));
  }
  if (t.raw.size() % sizeof(T) != 0) {
    throw Error(ErrorCode::kFormat, "ONNX tensor '" + t.name + "' holds " + std::to_string(t.raw.size()) +
                                        " bytes, not a whole number of elements");
  }
  // std::vector<uint8_t> storage comes from operator new: aligned for any scalar.
  return {reinterpret_cast<const T*>(t.raw.data()), t.raw.size() / sizeof(T)};
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

std::span<const float> OnnxTensor::floats() const { return view_as<float>(*this, OnnxDataType::kFloat); }
std::span<const int64_t> OnnxTensor::int64s() const { return view_as<int64_t>(*this, OnnxDataType::kInt64); }
std::span<const int32_t> OnnxTensor::int32s() const { return view_as<int32_t>(*this, OnnxDataType::kInt32); }

std::vector<float> OnnxTensor::to_floats() const {
  const size_t bits = onnx_dtype_bits(dtype);
  if (dtype != OnnxDataType::kFloat && dtype != OnnxDataType::kFloat16 && dtype != OnnxDataType::kBfloat16 &&
      dtype != OnnxDataType::kDouble) {
    throw Error(ErrorCode::kUnsupported,
                "ONNX tensor '" + name + "': cannot convert " + onnx_dtype_name(dtype) + " to float");
  }
  const size_t width = bits / 8;
  if (raw.size() % width != 0) {
    throw Error(ErrorCode::kFormat, "ONNX tensor '" + name + "' holds " + std::to_string(raw.size()) +
                                        " bytes, not a whole number of elements");
  }
  std::vector<float> out(raw.size() / width);
  const uint8_t* p = raw.data();
  for (size_t k = 0; k < out.size(); ++k, p += width) {
    switch (dtype) {
      case OnnxDataType::kFloat: out[k] = load<float>(p); break;
      case OnnxDataType::kDouble: out[k] = static_cast<float>(load<double>(p)); break;
      case OnnxDataType::kFloat16: out[k] = f16_to_float(load<uint16_t>(p)); break;
      default: out[k] = bf16_to_float(load<uint16_t>(p)); break;
    }
  }
  return out;
}

std::vector<int64_t> OnnxTensor::to_int64s() const {
  size_t width = 0;
  switch (dtype) {
    case OnnxDataType::kInt8: case OnnxDataType::kUint8: case OnnxDataType::kBool: width = 1; break;
    case OnnxDataType::kInt16: case OnnxDataType::kUint16: width = 2; break;
    case OnnxDataType::kInt32: case OnnxDataType::kUint32: width = 4; break;
    case OnnxDataType::kInt64: case OnnxDataType::kUint64: width = 8; break;
    default:
      throw Error(ErrorCode::kUnsupported,
                  "ONNX tensor '" + name + "': cannot convert " + onnx_dtype_name(dtype) + " to int64");
  }
  if (raw.size() % width != 0) {
    throw Error(ErrorCode::kFormat, "ONNX tensor '" + name + "' holds " + std::to_string(raw.size()) +
                                        " bytes, not a whole number of elements");
  }
  std::vector<int64_t> out(raw.size() / width);
  const uint8_t* p = raw.data();
  for (size_t k = 0; k < out.size(); ++k, p += width) {
    switch (dtype) {
      case OnnxDataType::kInt8: out[k] = load<int8_t>(p); break;
      case OnnxDataType::kUint8: out[k] = load<uint8_t>(p); break;
      case OnnxDataType::kBool: out[k] = load<uint8_t>(p) != 0; break;
      case OnnxDataType::kInt16: out[k] = load<int16_t>(p); break;
      case OnnxDataType::kUint16: out[k] = load<uint16_t>(p); break;
      case OnnxDataType::kInt32: out[k] = load<int32_t>(p); break;
      case OnnxDataType::kUint32: out[k] = load<uint32_t>(p); break;
      case OnnxDataType::kInt64: out[k] = load<int64_t>(p); break;
      default: out[k] = static_cast<int64_t>(load<uint64_t>(p)); break;  // UINT64: two's complement wrap
    }
  }
  return out;
}

// ---- OnnxNode ----

std::string OnnxNode::label() const {
  std::string s = name.empty() ? std::string("unnamed node") : "node '" + name + "'";
  return s + " (" + (op_type.empty() ? std::string("no op_type") : op_type) + ")";
}

const OnnxAttribute* OnnxNode::find_attribute(std::string_view attr_name) const {
  for (const auto& a : attributes) {
    if (a.name == attr_name) return &a;
  }
  return nullptr;
}

namespace {

const OnnxAttribute* typed_attribute(const OnnxNode& node, std::string_view attr_name, OnnxAttrType want) {
  const OnnxAttribute* a = node.find_attribute(attr_name);
  if (a != nullptr && a->type != want) {
    throw Error(ErrorCode::kFormat, "ONNX " + node.label() + ": attribute '" + std::string(attr_name) + "' is " +
                                        onnx_attr_type_name(a->type) + ", expected " + onnx_attr_type_name(want));
  }
  return a;
}

}  // namespace

int64_t OnnxNode::attr_int(std::string_view attr_name, int64_t fallback) const {
  const OnnxAttribute* a = typed_attribute(*this, attr_name, OnnxAttrType::kInt);
  return a ? a->i : fallback;
}

float OnnxNode::attr_float(std::string_view attr_name, float fallback) const {
  const OnnxAttribute* a = typed_attribute(*this, attr_name, OnnxAttrType::kFloat);
  return a ? a->f : fallback;
}

std::string OnnxNode::attr_string(std::string_view attr_name, const std::string& fallback) const {
  const OnnxAttribute* a = typed_attribute(*this, attr_name, OnnxAttrType::kString);
  return a ? a->s : fallback;
}

std::vector<int64_t> OnnxNode::attr_ints(std::string_view attr_name, const std::vector<int64_t>& fallback) const {
  const OnnxAttribute* a = typed_attribute(*this, attr_name, OnnxAttrType::kInts);
  return a ? a->ints : fallback;
}

std::vector<float> OnnxNode::attr_floats(std::string_view attr_name, const std::vector<float>& fallback) const {
  const OnnxAttribute* a = typed_attribute(*this, attr_name, OnnxAttrType::kFloats);
  return a ? a->floats : fallback;
}

const OnnxTensor* OnnxNode::attr_tensor(std::string_view attr_name) const {
  const OnnxAttribute* a = typed_attribute(*this, attr_name, OnnxAttrType::kTensor);
  return a ? &a->t : nullptr;
}

// ---- OnnxGraph / OnnxModel ----

const OnnxTensor* OnnxGraph::find_initializer(std::string_view value_name) const {
  for (const auto& t : initializers) {
    if (t.name == value_name) return &t;
  }
  return nullptr;
}

const OnnxValueInfo* OnnxGraph::find_input(std::string_view value_name) const {
  for (const auto& v : inputs) {
    if (v.name == value_name) return &v;
  }
  return nullptr;
}

const OnnxValueInfo* OnnxGraph::find_output(std::string_view value_name) const {
  for (const auto& v : outputs) {
    if (v.name == value_name) return &v;
  }
  return nullptr;
}

int64_t OnnxModel::opset_version(std::string_view op_domain) const {
  const bool default_domain = op_domain.empty() || op_domain == "ai.onnx";
  for (const auto& [d, v] : opset_imports) {
    if (d == op_domain || (default_domain && (d.empty() || d == "ai.onnx"))) return v;
  }
  return 0;
}

}  // namespace iciia
