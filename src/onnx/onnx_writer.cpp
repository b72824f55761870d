// ONNX ModelProto writer (see onnx_writer.h). Field numbers are those of onnx/onnx.proto.
#include "onnx/onnx_writer.h"

#include <protozero/pbf_writer.hpp>

#include <limits>

#include "util/error.h"

namespace iciia {
namespace {

using Writer = protozero::pbf_writer;  // appends to a std::string

[[noreturn]] void invalid(const std::string& problem) {
  throw Error(ErrorCode::kInvalidArgument, "write_onnx: " + problem);
}

class ModelWriter {
 public:
  ModelWriter(std::string& buf, const OnnxWriteOptions& options) : buf_(buf), options_(options) {}

  void model(Writer& w, const OnnxModel& m) {
    if (options_.check && m.opset_imports.empty()) invalid("the model has no opset import");
    w.add_int64(1, m.ir_version);
    if (!m.producer_name.empty()) w.add_string(2, m.producer_name);
    if (!m.producer_version.empty()) w.add_string(3, m.producer_version);
    if (!m.domain.empty()) w.add_string(4, m.domain);
    if (m.model_version != 0) w.add_int64(5, m.model_version);
    if (!m.doc_string.empty()) w.add_string(6, m.doc_string);
    // (No structured bindings here: clang 14 cannot capture them in lambdas.)
    for (const auto& opset : m.opset_imports) {
      message(w, 8, [&](Writer& o) {
        if (!opset.first.empty()) o.add_string(1, opset.first);
        o.add_int64(2, opset.second);
      });
    }
    for (const auto& prop : m.metadata_props) {
      message(w, 14, [&](Writer& e) {
        e.add_string(1, prop.first);
        e.add_string(2, prop.second);
      });
    }
    // The graph goes last: a file cut anywhere then lacks the graph or has a
    // truncated one, and parse_onnx() rejects it.
    message(w, 7, [&](Writer& g) { graph(g, m.graph); });
  }

 private:
  // Writes a sub-message, keeping it when empty (protozero drops an empty
  // nested message, which would lose e.g. the shape of a scalar).
  template <typename F>
  void message(Writer& parent, uint32_t tag, F&& fill) {
    const size_t before = buf_.size();
    {
      Writer sub(parent, tag);
      fill(sub);
    }
    if (buf_.size() == before) parent.add_message(tag, "", 0);
  }

  void graph(Writer& w, const OnnxGraph& g) {
    for (const auto& n : g.nodes) message(w, 1, [&](Writer& s) { node(s, n); });
    if (!g.name.empty()) w.add_string(2, g.name);
    for (const auto& t : g.initializers) message(w, 5, [&](Writer& s) { tensor(s, t); });
    for (const auto& v : g.inputs) message(w, 11, [&](Writer& s) { value_info(s, v); });
    for (const auto& v : g.outputs) message(w, 12, [&](Writer& s) { value_info(s, v); });
    for (const auto& v : g.value_infos) message(w, 13, [&](Writer& s) { value_info(s, v); });
  }

  void node(Writer& w, const OnnxNode& n) {
    for (const auto& in : n.inputs) w.add_string(1, in);
    for (const auto& out : n.outputs) w.add_string(2, out);
    if (!n.name.empty()) w.add_string(3, n.name);
    if (!n.op_type.empty()) w.add_string(4, n.op_type);
    for (const auto& a : n.attributes) message(w, 5, [&](Writer& s) { attribute(s, n, a); });
    if (!n.domain.empty()) w.add_string(7, n.domain);
  }

  void attribute(Writer& w, const OnnxNode& n, const OnnxAttribute& a) {
    w.add_string(1, a.name);
    switch (a.type) {
      case OnnxAttrType::kFloat: w.add_float(2, a.f); break;
      case OnnxAttrType::kInt: w.add_int64(3, a.i); break;
      case OnnxAttrType::kString: w.add_bytes(4, a.s); break;
      case OnnxAttrType::kTensor: message(w, 5, [&](Writer& s) { tensor(s, a.t); }); break;
      case OnnxAttrType::kFloats:
        for (float f : a.floats) w.add_float(7, f);
        break;
      case OnnxAttrType::kInts:
        for (int64_t i : a.ints) w.add_int64(8, i);
        break;
      case OnnxAttrType::kStrings:
        for (const auto& s : a.strings) w.add_bytes(9, s);
        break;
      case OnnxAttrType::kTensors:
        for (const auto& t : a.tensors) message(w, 10, [&](Writer& s) { tensor(s, t); });
        break;
      default:
        if (options_.check) {
          invalid("attribute '" + a.name + "' of " + n.label() + " has type " + onnx_attr_type_name(a.type) +
                  ", which cannot be written");
        }
        break;
    }
    w.add_int32(20, static_cast<int32_t>(a.type));
  }

  void check_tensor(const OnnxTensor& t) {
    const std::string label = "tensor '" + t.name + "'";
    if (t.dtype == OnnxDataType::kUndefined) invalid(label + " has no dtype");
    int64_t elements = 0;
    try {
      elements = t.element_count();
    } catch (const Error& e) {
      invalid(e.what());
    }
    if (t.dtype == OnnxDataType::kString) {
      if (!t.raw.empty() || t.strings.size() != static_cast<uint64_t>(elements)) {
        invalid(label + " of STRING has " + std::to_string(t.strings.size()) + " strings for " +
                std::to_string(elements) + " elements");
      }
      return;
    }
    if (!t.strings.empty()) invalid(label + " of " + onnx_dtype_name(t.dtype) + " has strings");
    const size_t bits = onnx_dtype_bits(t.dtype);
    if (bits == 0) return;  // unknown dtype: written as given
    const auto ue = static_cast<uint64_t>(elements);
    if (ue > std::numeric_limits<uint64_t>::max() / bits || t.raw.size() != (ue * bits + 7) / 8) {
      invalid(label + " of " + onnx_dtype_name(t.dtype) + " has " + std::to_string(t.raw.size()) +
              " bytes of data for " + std::to_string(elements) + " elements");
    }
  }

  void tensor(Writer& w, const OnnxTensor& t) {
    if (options_.check) check_tensor(t);
    if (t.raw.size() > std::numeric_limits<uint32_t>::max()) {
      invalid("tensor '" + t.name + "' is too large for a protobuf field");
    }
    for (int64_t d : t.dims) w.add_int64(1, d);
    w.add_int32(2, static_cast<int32_t>(t.dtype));
    for (const auto& s : t.strings) w.add_bytes(6, s);
    if (!t.name.empty()) w.add_string(8, t.name);
    if (!t.raw.empty()) w.add_bytes(9, reinterpret_cast<const char*>(t.raw.data()), t.raw.size());
  }

  void value_info(Writer& w, const OnnxValueInfo& v) {
    w.add_string(1, v.name);
    if (!v.is_tensor) {
      // Not represented further: an empty sequence type keeps is_tensor false.
      message(w, 2, [&](Writer& type) { message(type, 4, [](Writer&) {}); });
      return;
    }
    if (v.elem_type == OnnxDataType::kUndefined && !v.has_shape) return;
    message(w, 2, [&](Writer& type) {
      message(type, 1, [&](Writer& tt) {
        if (v.elem_type != OnnxDataType::kUndefined) tt.add_int32(1, static_cast<int32_t>(v.elem_type));
        if (!v.has_shape) return;
        message(tt, 2, [&](Writer& shape) {
          for (const auto& d : v.shape) {
            message(shape, 1, [&](Writer& dim) {
              if (d.value >= 0) {
                dim.add_int64(1, d.value);
              } else if (!d.param.empty()) {
                dim.add_string(2, d.param);
              }
            });
          }
        });
      });
    });
  }

  std::string& buf_;
  const OnnxWriteOptions& options_;
};

uint64_t tensor_bytes(const OnnxTensor& t) {
  uint64_t n = t.raw.size();
  for (const auto& s : t.strings) n += s.size();
  return n;
}

}  // namespace

std::vector<uint8_t> write_onnx(const OnnxModel& model, const OnnxWriteOptions& options) {
  // Protobuf messages are limited to 2 GiB.
  uint64_t payload = 0;
  for (const auto& t : model.graph.initializers) payload += tensor_bytes(t);
  for (const auto& n : model.graph.nodes) {
    for (const auto& a : n.attributes) {
      payload += tensor_bytes(a.t);
      for (const auto& t : a.tensors) payload += tensor_bytes(t);
    }
  }
  if (payload >= (1ull << 31)) invalid("the model's tensors exceed the 2 GiB protobuf limit");
  std::string buf;
  buf.reserve(payload + (64u << 10));
  {
    Writer w(buf);
    ModelWriter(buf, options).model(w, model);
  }
  if (buf.size() >= (1ull << 31)) invalid("the model exceeds the 2 GiB protobuf limit");
  return std::vector<uint8_t>(buf.begin(), buf.end());
}

namespace onnx_build {
namespace {

void check_count(const std::string& name, const std::vector<int64_t>& dims, size_t n) {
  OnnxTensor probe;
  probe.name = name;
  probe.dims = dims;
  int64_t elements = 0;
  try {
    elements = probe.element_count();
  } catch (const Error& e) {
    throw Error(ErrorCode::kInvalidArgument, e.what());
  }
  if (static_cast<uint64_t>(elements) != n) {
    throw Error(ErrorCode::kInvalidArgument, "onnx_build: tensor '" + name + "' has " + std::to_string(n) +
                                                 " values for " + std::to_string(elements) + " elements");
  }
}

template <typename T>
OnnxTensor make_tensor(std::string name, std::vector<int64_t> dims, std::span<const T> values, OnnxDataType dt) {
  check_count(name, dims, values.size());
  OnnxTensor t;
  t.name = std::move(name);
  t.dtype = dt;
  t.dims = std::move(dims);
  const auto* p = reinterpret_cast<const uint8_t*>(values.data());
  t.raw.assign(p, p + values.size_bytes());  // little-endian host
  return t;
}

OnnxAttribute attr(std::string name, OnnxAttrType type) {
  OnnxAttribute a;
  a.name = std::move(name);
  a.type = type;
  return a;
}

}  // namespace

OnnxTensor float_tensor(std::string name, std::vector<int64_t> dims, std::span<const float> values) {
  return make_tensor(std::move(name), std::move(dims), values, OnnxDataType::kFloat);
}
OnnxTensor int64_tensor(std::string name, std::vector<int64_t> dims, std::span<const int64_t> values) {
  return make_tensor(std::move(name), std::move(dims), values, OnnxDataType::kInt64);
}
OnnxTensor int32_tensor(std::string name, std::vector<int64_t> dims, std::span<const int32_t> values) {
  return make_tensor(std::move(name), std::move(dims), values, OnnxDataType::kInt32);
}

OnnxAttribute attr_int(std::string name, int64_t value) {
  OnnxAttribute a = attr(std::move(name), OnnxAttrType::kInt);
  a.i = value;
  return a;
}
OnnxAttribute attr_ints(std::string name, std::vector<int64_t> values) {
  OnnxAttribute a = attr(std::move(name), OnnxAttrType::kInts);
  a.ints = std::move(values);
  return a;
}
OnnxAttribute attr_float(std::string name, float value) {
  OnnxAttribute a = attr(std::move(name), OnnxAttrType::kFloat);
  a.f = value;
  return a;
}
OnnxAttribute attr_floats(std::string name, std::vector<float> values) {
  OnnxAttribute a = attr(std::move(name), OnnxAttrType::kFloats);
  a.floats = std::move(values);
  return a;
}
OnnxAttribute attr_string(std::string name, std::string value) {
  OnnxAttribute a = attr(std::move(name), OnnxAttrType::kString);
  a.s = std::move(value);
  return a;
}
OnnxAttribute attr_strings(std::string name, std::vector<std::string> values) {
  OnnxAttribute a = attr(std::move(name), OnnxAttrType::kStrings);
  a.strings = std::move(values);
  return a;
}
OnnxAttribute attr_tensor(std::string name, OnnxTensor value) {
  OnnxAttribute a = attr(std::move(name), OnnxAttrType::kTensor);
  a.t = std::move(value);
  return a;
}

OnnxNode node(std::string op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
              std::vector<OnnxAttribute> attributes, std::string name) {
  OnnxNode n;
  n.op_type = std::move(op_type);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attributes = std::move(attributes);
  n.name = std::move(name);
  return n;
}

OnnxValueInfo value_info(std::string name, OnnxDataType elem_type, const std::vector<int64_t>& dims) {
  std::vector<OnnxDim> shape;
  shape.reserve(dims.size());
  for (int64_t d : dims) shape.push_back(OnnxDim{d >= 0 ? d : -1, ""});
  return symbolic_value_info(std::move(name), elem_type, std::move(shape));
}

OnnxValueInfo symbolic_value_info(std::string name, OnnxDataType elem_type, std::vector<OnnxDim> shape) {
  OnnxValueInfo v;
  v.name = std::move(name);
  v.elem_type = elem_type;
  v.has_shape = true;
  v.shape = std::move(shape);
  return v;
}

OnnxModel model(OnnxGraph graph, int64_t opset) {
  OnnxModel m;
  m.ir_version = 8;
  m.opset_imports[""] = opset;
  m.producer_name = "iciia";
  m.graph = std::move(graph);
  return m;
}

}  // namespace onnx_build
}  // namespace iciia
