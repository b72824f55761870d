// Writing ONNX ModelProto files from the structs of onnx_model.h, and small
// builders for tests and tools (test models, exported trained models).
//
// Every field parse_onnx() reads is written: tensors as raw_data (little-endian;
// STRING tensors as string_data), tensor dims and attribute lists unpacked as
// the reference protobuf serializer does. Fields go in field-number order,
// except that the graph comes last in the ModelProto, after opset_import and
// metadata_props: a file cut short anywhere is then always rejected by
// parse_onnx() (protobuf cannot tell a cut at a top-level field boundary from
// a complete message). A file written here parses back to equal structs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "onnx/onnx_model.h"

namespace iciia {

struct OnnxWriteOptions {
  // Check the model before writing: at least one opset import, every tensor's
  // dims non-negative and its data matching dims and dtype, every attribute of
  // a type parse_onnx() reads. A violation throws kInvalidArgument naming the
  // tensor or attribute. Tests switch it off to build malformed files.
  bool check = true;
};

std::vector<uint8_t> write_onnx(const OnnxModel& model, const OnnxWriteOptions& options = {});

// Builders. Tensor builders throw kInvalidArgument when values.size() does not
// match the product of dims.
namespace onnx_build {

OnnxTensor float_tensor(std::string name, std::vector<int64_t> dims, std::span<const float> values);
OnnxTensor int64_tensor(std::string name, std::vector<int64_t> dims, std::span<const int64_t> values);
OnnxTensor int32_tensor(std::string name, std::vector<int64_t> dims, std::span<const int32_t> values);

OnnxAttribute attr_int(std::string name, int64_t value);
OnnxAttribute attr_ints(std::string name, std::vector<int64_t> values);
OnnxAttribute attr_float(std::string name, float value);
OnnxAttribute attr_floats(std::string name, std::vector<float> values);
OnnxAttribute attr_string(std::string name, std::string value);
OnnxAttribute attr_strings(std::string name, std::vector<std::string> values);
OnnxAttribute attr_tensor(std::string name, OnnxTensor value);

OnnxNode node(std::string op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
              std::vector<OnnxAttribute> attributes = {}, std::string name = "");

// A tensor value info; a negative entry of dims is an unknown dimension.
OnnxValueInfo value_info(std::string name, OnnxDataType elem_type, const std::vector<int64_t>& dims);
// With symbolic dimensions, e.g. {{-1, "batch"}, {3, ""}, {224, ""}, {224, ""}}.
OnnxValueInfo symbolic_value_info(std::string name, OnnxDataType elem_type, std::vector<OnnxDim> shape);

// A model of the default domain at `opset`, IR version 8, produced by "iciia".
OnnxModel model(OnnxGraph graph, int64_t opset = 13);

}  // namespace onnx_build
}  // namespace iciia
