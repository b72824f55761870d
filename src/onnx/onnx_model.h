// The ONNX model file layer of the backbone engine: plain structs for an ONNX
// ModelProto, a bounded decoder for untrusted .onnx files, and semantic checks
// of the graph. The writer (onnx_writer.h) produces files from the same structs.
//
// parse_onnx() treats its input as hostile: every length, count, rank and
// tensor size is checked against the buffer and against OnnxLimits before
// anything is allocated, and every problem throws iciia::Error —
//   kFormat       malformed protobuf or ONNX (truncated data, bad varint, wrong
//                 wire type, raw_data size disagreeing with dims, negative or
//                 overflowing dims, ...);
//   kLimit        a configurable bound was exceeded;
//   kUnsupported  well-formed, but outside what this layer represents: external
//                 tensor data, segmented tensors, sparse tensors, graph-valued
//                 attributes (If/Loop/Scan bodies), type-proto attributes, and
//                 typed-field data of dtypes it cannot convert.
// Messages say which message and field (node name and op_type, tensor name, ...)
// and the byte offset in the file where the problem was found.
//
// Tensor data is normalised: whatever the file used (raw_data, or the typed
// float_data / int32_data / int64_data / double_data / uint64_data fields,
// packed or not), OnnxTensor::raw holds the elements packed little-endian, one
// copy of the file's bytes. STRING tensors keep their elements in `strings`.
// Fields this layer does not represent (doc strings other than the model's,
// denotations, quantization annotations, training info, model-local functions)
// are skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iciia {

// TensorProto.DataType. Values outside this list can occur in a file (newer
// ONNX versions add types): they are kept as-is for the engine to reject.
enum class OnnxDataType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBfloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
  kUint4 = 21,
  kInt4 = 22,
  kFloat4E2M1 = 23,
  kFloat8E8M0 = 24,
};

// "FLOAT", "INT64", ... or "dtype(<n>)" for values this build does not know.
std::string onnx_dtype_name(OnnxDataType dtype);
// Bits per element (4 for the 4-bit types); 0 for STRING, UNDEFINED and unknown values.
size_t onnx_dtype_bits(OnnxDataType dtype);

// AttributeProto.AttributeType.
enum class OnnxAttrType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kTensors = 9,
  kGraphs = 10,
  kSparseTensor = 11,
  kSparseTensors = 12,
  kTypeProto = 13,
  kTypeProtos = 14,
};

const char* onnx_attr_type_name(OnnxAttrType type);

struct OnnxLimits {
  uint64_t max_file_bytes = 512ull << 20;
  uint64_t max_nodes = 100'000;             // nodes of the graph
  uint64_t max_list_elements = 1u << 20;    // any one repeated field: initializers, node inputs, attribute ints, ...
  uint64_t max_tensor_bytes = 256ull << 20;  // one tensor's data (initializer or attribute)
  uint64_t max_total_tensor_bytes = 1ull << 30;
  uint64_t max_rank = 8;                    // tensor dims and value-info shapes
  uint64_t max_string_bytes = 1u << 20;     // any one stored string (names, attribute strings, string elements)
  // Estimated memory of the whole parsed model (structs, strings, tensor data):
  // bounds what small hostile inputs can make the parser allocate.
  uint64_t max_decoded_bytes = 2ull << 30;
};

struct OnnxTensor {
  std::string name;
  OnnxDataType dtype = OnnxDataType::kUndefined;
  std::vector<int64_t> dims;         // empty = scalar
  std::vector<uint8_t> raw;          // elements, packed little-endian (all dtypes but STRING)
  std::vector<std::string> strings;  // elements of a STRING tensor

  // Product of dims (1 for a scalar). Throws kFormat on a negative dim or overflow.
  int64_t element_count() const;
  // Zero-copy views of `raw`; throw kFormat if dtype differs (kFloat / kInt64 / kInt32).
  std::span<const float> floats() const;
  std::span<const int64_t> int64s() const;
  std::span<const int32_t> int32s() const;
  // Converting copies: to_floats() accepts FLOAT, FLOAT16, BFLOAT16, DOUBLE;
  // to_int64s() accepts every integer dtype and BOOL. Others throw kUnsupported.
  std::vector<float> to_floats() const;
  std::vector<int64_t> to_int64s() const;
};

struct OnnxAttribute {
  std::string name;
  OnnxAttrType type = OnnxAttrType::kUndefined;
  float f = 0.f;
  int64_t i = 0;
  std::string s;
  OnnxTensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<OnnxTensor> tensors;
};

struct OnnxNode {
  std::string name;
  std::string op_type;
  std::string domain;               // "" = the default ONNX domain
  std::vector<std::string> inputs;  // "" = an omitted optional input
  std::vector<std::string> outputs;
  std::vector<OnnxAttribute> attributes;

  const OnnxAttribute* find_attribute(std::string_view attr_name) const;
  // Typed getters: the fallback when the attribute is absent; kFormat (naming
  // the node and attribute) when it is present with another type.
  int64_t attr_int(std::string_view attr_name, int64_t fallback) const;
  float attr_float(std::string_view attr_name, float fallback) const;
  std::string attr_string(std::string_view attr_name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(std::string_view attr_name, const std::vector<int64_t>& fallback = {}) const;
  std::vector<float> attr_floats(std::string_view attr_name, const std::vector<float>& fallback = {}) const;
  const OnnxTensor* attr_tensor(std::string_view attr_name) const;  // nullptr when absent
  // "'name' (OpType)" or "#<index> (OpType)" style label for messages.
  std::string label() const;
};

// One dimension of a value-info shape: value >= 0 for a fixed size, or -1 for
// an unknown one, which `param` may name symbolically (e.g. "batch_size").
struct OnnxDim {
  int64_t value = -1;
  std::string param;
  bool is_fixed() const { return value >= 0; }
};

struct OnnxValueInfo {
  std::string name;
  bool is_tensor = true;  // false: a sequence/map/optional/sparse type (not represented further)
  OnnxDataType elem_type = OnnxDataType::kUndefined;
  bool has_shape = false;     // false: rank unknown
  std::vector<OnnxDim> shape;  // has_shape && empty: a scalar
};

struct OnnxGraph {
  std::string name;
  std::vector<OnnxNode> nodes;
  std::vector<OnnxTensor> initializers;
  std::vector<OnnxValueInfo> inputs;  // may also list initializers (older IR versions)
  std::vector<OnnxValueInfo> outputs;
  std::vector<OnnxValueInfo> value_infos;

  const OnnxTensor* find_initializer(std::string_view value_name) const;
  const OnnxValueInfo* find_input(std::string_view value_name) const;
  const OnnxValueInfo* find_output(std::string_view value_name) const;
};

struct OnnxModel {
  int64_t ir_version = 0;
  std::map<std::string, int64_t> opset_imports;  // domain ("" = ai.onnx) -> version
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  OnnxGraph graph;

  // Version imported for a domain ("" and "ai.onnx" are the same); 0 if none.
  int64_t opset_version(std::string_view op_domain = "") const;
};

// Decodes an ONNX ModelProto. Requires ir_version, a graph and at least one
// opset_import (so a file cut short at a field boundary is still rejected).
OnnxModel parse_onnx(std::span<const uint8_t> bytes, const OnnxLimits& limits = {});

// Semantic checks of a decoded graph; throws kFormat naming the node (name and
// op_type) and the value concerned:
//  - empty or duplicate graph input / initializer names (an initializer may
//    also be a graph input), a node output that is already defined (by another
//    node, the same node, a graph input or an initializer);
//  - a node input that no graph input, initializer or node produces (empty
//    input names mean "omitted optional input" and are allowed);
//  - cycles (via topological_order);
//  - graph outputs that nothing produces.
void validate_graph(const OnnxGraph& graph);

// Node indices in an order where every node comes after the producers of its
// inputs; among the ready nodes the lowest index goes first, so a graph already
// in topological order keeps its order. Inputs that no node produces are taken
// as given (validate_graph checks them). A cycle throws kFormat naming the
// nodes and values on it.
std::vector<size_t> topological_order(const OnnxGraph& graph);

}  // namespace iciia
