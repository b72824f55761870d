// Bounded decoder of ONNX ModelProto files (see onnx_model.h).
//
// Every message is read in two passes over its bytes: the first reads scalars,
// counts repeated fields and checks wire types and lengths (protozero only
// returns views into the input here, nothing is allocated); then the counts
// are checked against OnnxLimits and the memory budget, the containers are
// reserved, and the second pass decodes the elements. Tensor raw_data is
// copied exactly once, from the input into OnnxTensor::raw.
//
// Field numbers are those of onnx/onnx.proto.
#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/varint.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>

#include "onnx/onnx_model.h"
#include "util/error.h"
#include "util/text.h"

namespace iciia {
namespace {

using WT = protozero::pbf_wire_type;

namespace model_field {
constexpr uint32_t kIrVersion = 1, kProducerName = 2, kProducerVersion = 3, kDomain = 4, kModelVersion = 5,
                   kDocString = 6, kGraph = 7, kOpsetImport = 8, kMetadataProps = 14;
}
namespace opset_field {
constexpr uint32_t kDomain = 1, kVersion = 2;
}
namespace entry_field {
constexpr uint32_t kKey = 1, kValue = 2;
}
namespace graph_field {
constexpr uint32_t kNode = 1, kName = 2, kInitializer = 5, kInput = 11, kOutput = 12, kValueInfo = 13,
                   kSparseInitializer = 15;
}
namespace node_field {
constexpr uint32_t kInput = 1, kOutput = 2, kName = 3, kOpType = 4, kAttribute = 5, kDomain = 7;
}
namespace attr_field {
constexpr uint32_t kName = 1, kF = 2, kI = 3, kS = 4, kT = 5, kG = 6, kFloats = 7, kInts = 8, kStrings = 9,
                   kTensors = 10, kGraphs = 11, kTp = 14, kTypeProtos = 15, kType = 20, kRefAttrName = 21,
                   kSparseTensor = 22, kSparseTensors = 23;
}
namespace tensor_field {
constexpr uint32_t kDims = 1, kDataType = 2, kSegment = 3, kFloatData = 4, kInt32Data = 5, kStringData = 6,
                   kInt64Data = 7, kName = 8, kRawData = 9, kDoubleData = 10, kUint64Data = 11,
                   kExternalData = 13, kDataLocation = 14;
}
namespace value_info_field {
constexpr uint32_t kName = 1, kType = 2;
}
namespace type_field {
constexpr uint32_t kTensorType = 1, kSequenceType = 4, kMapType = 5, kSparseTensorType = 8, kOptionalType = 9;
}
namespace tensor_type_field {
constexpr uint32_t kElemType = 1, kShape = 2;
}
namespace shape_field {
constexpr uint32_t kDim = 1;
}
namespace dim_field {
constexpr uint32_t kDimValue = 1, kDimParam = 2;
}

const char* wire_type_name(WT wt) {
  switch (wt) {
    case WT::varint: return "varint";
    case WT::fixed64: return "fixed64";
    case WT::length_delimited: return "length-delimited";
    case WT::fixed32: return "fixed32";
    default: return "unknown";
  }
}

// Where the decoder is, for error messages.
struct Frame {
  const char* kind = "";
  int64_t index = -1;       // position in its repeated field, or -1
  std::string_view name;    // from the file, once seen
  std::string_view op;      // a node's op_type, once seen
  const char* start = nullptr;
};

enum class Scalar { kVarint, kFixed32, kFixed64 };

WT scalar_wire_type(Scalar s) {
  switch (s) {
    case Scalar::kVarint: return WT::varint;
    case Scalar::kFixed32: return WT::fixed32;
    case Scalar::kFixed64: return WT::fixed64;
  }
  return WT::varint;
}

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const OnnxLimits& limits)
      : base_(reinterpret_cast<const char*>(bytes.data())), size_(bytes.size()), lim_(limits) {}

  OnnxModel run();

  // ---- error reporting ----
  [[noreturn]] void fail(ErrorCode code, const std::string& problem) const {
    throw Error(code, "ONNX: " + problem + " (at " + where(field_pos_, field_) + ")");
  }
  // For checks of a whole message: the position is where the message starts.
  [[noreturn]] void fail_message(ErrorCode code, const std::string& problem) const {
    const char* at = depth_ > 0 ? frames_[depth_ - 1].start : base_;
    throw Error(code, "ONNX: " + problem + " (at " + where(at, nullptr) + ")");
  }

  void set_field(const char* pos, const char* field) {
    field_pos_ = pos;
    field_ = field;
  }
  void set_field_name(const char* field) { field_ = field; }

  void charge(uint64_t bytes) {
    if (bytes > lim_.max_decoded_bytes || decoded_ > lim_.max_decoded_bytes - bytes) {
      fail_message(ErrorCode::kLimit, "the decoded model would exceed OnnxLimits::max_decoded_bytes (" +
                                          std::to_string(lim_.max_decoded_bytes) + " bytes)");
    }
    decoded_ += bytes;
  }
  void check_count(uint64_t n, const char* what) {
    if (n > lim_.max_list_elements) {
      fail_message(ErrorCode::kLimit, std::to_string(n) + " " + what + " exceed OnnxLimits::max_list_elements (" +
                                          std::to_string(lim_.max_list_elements) + ")");
    }
  }

  const OnnxLimits& limits() const { return lim_; }
  const char* end() const { return base_ + size_; }

  // Pushes a context frame for the lifetime of the guard.
  class FrameGuard {
   public:
    FrameGuard(Parser& p, const char* kind, int64_t index, std::string_view bytes) : p_(p) {
      if (p_.depth_ < p_.frames_.size()) {
        Frame& f = p_.frames_[p_.depth_];
        f = Frame{};
        f.kind = kind;
        f.index = index;
        f.start = bytes.data();
        frame_ = &f;
      }
      ++p_.depth_;
    }
    ~FrameGuard() { --p_.depth_; }
    void set_name(std::string_view name) {
      if (frame_) frame_->name = name;
    }
    void set_op(std::string_view op) {
      if (frame_) frame_->op = op;
    }
    FrameGuard(const FrameGuard&) = delete;
    FrameGuard& operator=(const FrameGuard&) = delete;

   private:
    Parser& p_;
    Frame* frame_ = nullptr;
  };

 private:
  std::string where(const char* at, const char* field) const {
    std::string s;
    const size_t n = std::min<size_t>(depth_, frames_.size());
    for (size_t k = 0; k < n; ++k) {
      const Frame& f = frames_[k];
      if (k) s += " > ";
      s += f.kind;
      if (f.index >= 0) s += "[" + std::to_string(f.index) + "]";
      if (!f.name.empty()) s += " '" + printable(f.name) + "'";
      if (!f.op.empty()) s += " (" + printable(f.op) + ")";
    }
    if (field) s += std::string(s.empty() ? "" : ", ") + "field " + field;
    if (at != nullptr && at >= base_ && at <= base_ + size_) {
      s += std::string(s.empty() ? "" : ", ") + "byte offset " + std::to_string(at - base_);
    }
    return s;
  }

  // Message parsers; each takes the message's bytes.
  void parse_opset(std::string_view bytes, int64_t index, OnnxModel& model);
  std::pair<std::string, std::string> parse_entry(std::string_view bytes, int64_t index);
  void parse_graph(std::string_view bytes, OnnxGraph& graph);
  OnnxNode parse_node(std::string_view bytes, int64_t index);
  OnnxAttribute parse_attribute(std::string_view bytes, int64_t index);
  OnnxTensor parse_tensor(std::string_view bytes, const char* kind, int64_t index);
  OnnxValueInfo parse_value_info(std::string_view bytes, const char* kind, int64_t index);
  void parse_type(std::string_view bytes, OnnxValueInfo& info);
  void parse_tensor_type(std::string_view bytes, OnnxValueInfo& info);
  void parse_shape(std::string_view bytes, OnnxValueInfo& info);
  OnnxDim parse_dim(std::string_view bytes);

  const char* base_;
  size_t size_;
  const OnnxLimits& lim_;
  std::array<Frame, 8> frames_{};
  size_t depth_ = 0;
  const char* field_pos_ = nullptr;
  const char* field_ = nullptr;
  uint64_t decoded_ = 0;
  uint64_t tensor_bytes_ = 0;
};

// A protobuf message being read: protozero's pbf_reader with wire-type and
// length checks in front of every access, and its exceptions turned into
// iciia::Error with the parser's context.
class Msg {
 public:
  Msg(Parser& p, std::string_view bytes) : p_(p), r_(bytes.data(), bytes.size()) {}

  bool next() {
    p_.set_field(r_.data().data(), nullptr);
    return guard([&] { return r_.next(); });
  }
  uint32_t tag() const { return r_.tag(); }
  WT wire() const { return r_.wire_type(); }

  void expect(WT wt, const char* field) {
    p_.set_field_name(field);
    if (r_.wire_type() != wt) {
      p_.fail(ErrorCode::kFormat, std::string("wrong wire type ") + wire_type_name(r_.wire_type()) + " for field " +
                                      std::to_string(r_.tag()) + ", expected " + wire_type_name(wt));
    }
  }

  void skip() {
    if (r_.wire_type() == WT::length_delimited) check_length();
    guard([&] {
      r_.skip();
      return 0;
    });
  }

  uint64_t get_varint(const char* field) {
    expect(WT::varint, field);
    return guard([&] { return r_.get_uint64(); });
  }
  int64_t get_int64(const char* field) { return static_cast<int64_t>(get_varint(field)); }
  int32_t get_int32(const char* field) {
    const int64_t v = get_int64(field);
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      p_.fail(ErrorCode::kFormat, "value " + std::to_string(v) + " is out of the int32 range");
    }
    return static_cast<int32_t>(v);
  }
  float get_float(const char* field) {
    expect(WT::fixed32, field);
    return guard([&] { return r_.get_float(); });
  }
  std::string_view get_view(const char* field) {
    expect(WT::length_delimited, field);
    check_length();
    const protozero::data_view v = guard([&] { return r_.get_view(); });
    return {v.data(), v.size()};
  }
  // A string that is kept: checked against max_string_bytes and charged.
  std::string_view get_kept_view(const char* field) {
    const std::string_view v = get_view(field);
    if (v.size() > p_.limits().max_string_bytes) {
      p_.fail(ErrorCode::kLimit, "a string of " + std::to_string(v.size()) +
                                     " bytes exceeds OnnxLimits::max_string_bytes (" +
                                     std::to_string(p_.limits().max_string_bytes) + ")");
    }
    p_.charge(v.size());
    return v;
  }
  std::string get_string(const char* field) { return std::string(get_kept_view(field)); }

  // Pass 1 of a repeated scalar field (packed or not): consumes the current
  // field and returns how many elements it holds.
  uint64_t count_repeated(Scalar s, const char* field) {
    p_.set_field_name(field);
    if (r_.wire_type() == WT::length_delimited) {
      const std::string_view v = get_view(field);
      if (s == Scalar::kVarint) {
        uint64_t n = 0;
        const char* q = v.data();
        const char* e = v.data() + v.size();
        guard([&] {
          while (q != e) {
            protozero::skip_varint(&q, e);
            ++n;
          }
          return 0;
        });
        return n;
      }
      const size_t width = s == Scalar::kFixed32 ? 4 : 8;
      if (v.size() % width != 0) {
        p_.fail(ErrorCode::kFormat, "packed field of " + std::to_string(v.size()) + " bytes is not a multiple of " +
                                        std::to_string(width));
      }
      return v.size() / width;
    }
    read_one(s, field);
    return 1;
  }

  // Pass 2 of a repeated scalar field: calls f(bits) for every element, bits
  // being the varint value or the fixed-width value's bit pattern.
  template <typename F>
  void read_repeated(Scalar s, const char* field, F&& f) {
    p_.set_field_name(field);
    if (r_.wire_type() == WT::length_delimited) {
      const std::string_view v = get_view(field);
      const char* q = v.data();
      const char* e = v.data() + v.size();
      if (s == Scalar::kVarint) {
        while (q != e) f(guard([&] { return protozero::decode_varint(&q, e); }));
        return;
      }
      const size_t width = s == Scalar::kFixed32 ? 4 : 8;
      if (v.size() % width != 0) {
        p_.fail(ErrorCode::kFormat, "packed field of " + std::to_string(v.size()) + " bytes is not a multiple of " +
                                        std::to_string(width));
      }
      for (; q != e; q += width) {
        if (width == 4) {
          uint32_t bits;
          std::memcpy(&bits, q, 4);
          f(uint64_t{bits});
        } else {
          uint64_t bits;
          std::memcpy(&bits, q, 8);
          f(bits);
        }
      }
      return;
    }
    f(read_one(s, field));
  }

 private:
  uint64_t read_one(Scalar s, const char* field) {
    expect(scalar_wire_type(s), field);
    switch (s) {
      case Scalar::kVarint: return guard([&] { return r_.get_uint64(); });
      case Scalar::kFixed32: return guard([&] { return uint64_t{r_.get_fixed32()}; });
      case Scalar::kFixed64: return guard([&] { return r_.get_fixed64(); });
    }
    return 0;
  }

  // The length of the current length-delimited field must fit in what is
  // left of this message (protozero would silently truncate a length beyond
  // 32 bits).
  void check_length() {
    const protozero::data_view rest = r_.data();
    const char* q = rest.data();
    const char* e = rest.data() + rest.size();
    const uint64_t len = guard([&] { return protozero::decode_varint(&q, e); });
    const auto left = static_cast<uint64_t>(e - q);
    if (len > left || len > std::numeric_limits<uint32_t>::max()) {
      p_.fail(ErrorCode::kFormat, "truncated data: field " + std::to_string(r_.tag()) + " claims " +
                                      std::to_string(len) + " bytes, but only " + std::to_string(left) +
                                      " are left in its message");
    }
  }

  template <typename F>
  auto guard(F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const protozero::varint_too_long_exception&) {
      p_.fail(ErrorCode::kFormat, "bad varint (longer than 10 bytes)");
    } catch (const protozero::end_of_buffer_exception&) {
      p_.fail(ErrorCode::kFormat, "truncated data (a value runs past the end of its message)");
    } catch (const protozero::unknown_pbf_wire_type_exception&) {
      p_.fail(ErrorCode::kFormat, "unknown protobuf wire type");
    } catch (const protozero::invalid_tag_exception&) {
      p_.fail(ErrorCode::kFormat, "invalid protobuf field number");
    } catch (const protozero::exception& e) {
      p_.fail(ErrorCode::kFormat, std::string("malformed protobuf: ") + e.what());
    }
  }

  Parser& p_;
  protozero::pbf_reader r_;
};

// ---- ModelProto ----

OnnxModel Parser::run() {
  OnnxModel model;
  if (size_ > lim_.max_file_bytes) {
    throw Error(ErrorCode::kLimit, "ONNX: the file has " + std::to_string(size_) +
                                       " bytes, above OnnxLimits::max_file_bytes (" +
                                       std::to_string(lim_.max_file_bytes) + ")");
  }
  const std::string_view all(base_, size_);
  FrameGuard frame(*this, "model", -1, all);
  std::string_view graph_bytes;
  bool has_graph = false, has_ir_version = false;
  uint64_t n_opsets = 0, n_props = 0;
  {
    Msg msg(*this, all);
    while (msg.next()) {
      switch (msg.tag()) {
        case model_field::kIrVersion:
          model.ir_version = msg.get_int64("ir_version");
          has_ir_version = true;
          break;
        case model_field::kProducerName: model.producer_name = msg.get_string("producer_name"); break;
        case model_field::kProducerVersion: model.producer_version = msg.get_string("producer_version"); break;
        case model_field::kDomain: model.domain = msg.get_string("domain"); break;
        case model_field::kModelVersion: model.model_version = msg.get_int64("model_version"); break;
        case model_field::kDocString: model.doc_string = msg.get_string("doc_string"); break;
        case model_field::kGraph:
          if (has_graph) fail(ErrorCode::kFormat, "the model has two graph fields");
          graph_bytes = msg.get_view("graph");
          has_graph = true;
          break;
        case model_field::kOpsetImport:
          msg.get_view("opset_import");
          ++n_opsets;
          break;
        case model_field::kMetadataProps:
          msg.get_view("metadata_props");
          ++n_props;
          break;
        default: msg.skip(); break;
      }
    }
  }
  if (!has_ir_version) fail_message(ErrorCode::kFormat, "the model has no ir_version");
  if (!has_graph) fail_message(ErrorCode::kFormat, "the model has no graph");
  if (n_opsets == 0) fail_message(ErrorCode::kFormat, "the model has no opset_import");
  check_count(n_opsets, "opset imports");
  check_count(n_props, "metadata entries");
  charge(n_props * sizeof(std::pair<std::string, std::string>) +
         n_opsets * (sizeof(std::string) + sizeof(int64_t) + 32));
  model.metadata_props.reserve(n_props);
  {
    Msg msg(*this, all);
    int64_t opset_index = 0, prop_index = 0;
    while (msg.next()) {
      switch (msg.tag()) {
        case model_field::kOpsetImport: parse_opset(msg.get_view("opset_import"), opset_index++, model); break;
        case model_field::kMetadataProps:
          model.metadata_props.push_back(parse_entry(msg.get_view("metadata_props"), prop_index++));
          break;
        default: msg.skip(); break;
      }
    }
  }
  {
    FrameGuard graph_frame(*this, "graph", -1, graph_bytes);
    parse_graph(graph_bytes, model.graph);
  }
  return model;
}

void Parser::parse_opset(std::string_view bytes, int64_t index, OnnxModel& model) {
  FrameGuard frame(*this, "opset_import", index, bytes);
  std::string domain;
  int64_t version = 0;
  bool has_version = false;
  Msg msg(*this, bytes);
  while (msg.next()) {
    switch (msg.tag()) {
      case opset_field::kDomain:
        domain = msg.get_string("domain");
        break;
      case opset_field::kVersion:
        version = msg.get_int64("version");
        has_version = true;
        break;
      default: msg.skip(); break;
    }
  }
  if (!has_version) {
    fail_message(ErrorCode::kFormat, "opset_import for domain '" + printable(domain) + "' has no version");
  }
  if (!model.opset_imports.emplace(domain, version).second) {
    fail_message(ErrorCode::kFormat, "domain '" + printable(domain) + "' is imported twice");
  }
}

std::pair<std::string, std::string> Parser::parse_entry(std::string_view bytes, int64_t index) {
  FrameGuard frame(*this, "metadata_props", index, bytes);
  std::pair<std::string, std::string> kv;
  Msg msg(*this, bytes);
  while (msg.next()) {
    switch (msg.tag()) {
      case entry_field::kKey: kv.first = msg.get_string("key"); break;
      case entry_field::kValue: kv.second = msg.get_string("value"); break;
      default: msg.skip(); break;
    }
  }
  return kv;
}


// ---- GraphProto ----

void Parser::parse_graph(std::string_view bytes, OnnxGraph& graph) {
  uint64_t n_nodes = 0, n_inits = 0, n_inputs = 0, n_outputs = 0, n_infos = 0;
  {
    Msg msg(*this, bytes);
    while (msg.next()) {
      switch (msg.tag()) {
        case graph_field::kNode: msg.get_view("node"), ++n_nodes; break;
        case graph_field::kName: graph.name = msg.get_string("name"); break;
        case graph_field::kInitializer: msg.get_view("initializer"), ++n_inits; break;
        case graph_field::kInput: msg.get_view("input"), ++n_inputs; break;
        case graph_field::kOutput: msg.get_view("output"), ++n_outputs; break;
        case graph_field::kValueInfo: msg.get_view("value_info"), ++n_infos; break;
        case graph_field::kSparseInitializer:
          set_field_name("sparse_initializer");
          fail(ErrorCode::kUnsupported, "sparse initializers are not supported");
        default: msg.skip(); break;
      }
    }
  }
  if (n_nodes > lim_.max_nodes) {
    fail_message(ErrorCode::kLimit, "the graph has " + std::to_string(n_nodes) +
                                        " nodes, above OnnxLimits::max_nodes (" + std::to_string(lim_.max_nodes) +
                                        ")");
  }
  check_count(n_inits, "initializers");
  check_count(n_inputs, "graph inputs");
  check_count(n_outputs, "graph outputs");
  check_count(n_infos, "value infos");
  charge(n_nodes * sizeof(OnnxNode) + n_inits * sizeof(OnnxTensor) +
         (n_inputs + n_outputs + n_infos) * sizeof(OnnxValueInfo));
  graph.nodes.reserve(n_nodes);
  graph.initializers.reserve(n_inits);
  graph.inputs.reserve(n_inputs);
  graph.outputs.reserve(n_outputs);
  graph.value_infos.reserve(n_infos);

  Msg msg(*this, bytes);
  while (msg.next()) {
    switch (msg.tag()) {
      case graph_field::kNode:
        graph.nodes.push_back(parse_node(msg.get_view("node"), static_cast<int64_t>(graph.nodes.size())));
        break;
      case graph_field::kInitializer:
        graph.initializers.push_back(parse_tensor(msg.get_view("initializer"), "initializer",
                                                  static_cast<int64_t>(graph.initializers.size())));
        break;
      case graph_field::kInput:
        graph.inputs.push_back(
            parse_value_info(msg.get_view("input"), "input", static_cast<int64_t>(graph.inputs.size())));
        break;
      case graph_field::kOutput:
        graph.outputs.push_back(
            parse_value_info(msg.get_view("output"), "output", static_cast<int64_t>(graph.outputs.size())));
        break;
      case graph_field::kValueInfo:
        graph.value_infos.push_back(parse_value_info(msg.get_view("value_info"), "value_info",
                                                     static_cast<int64_t>(graph.value_infos.size())));
        break;
      default: msg.skip(); break;
    }
  }
}

// ---- NodeProto ----

OnnxNode Parser::parse_node(std::string_view bytes, int64_t index) {
  FrameGuard frame(*this, "node", index, bytes);
  uint64_t n_inputs = 0, n_outputs = 0, n_attrs = 0;
  {
    Msg msg(*this, bytes);
    while (msg.next()) {
      switch (msg.tag()) {
        case node_field::kInput: msg.get_view("input"), ++n_inputs; break;
        case node_field::kOutput: msg.get_view("output"), ++n_outputs; break;
        case node_field::kName: frame.set_name(msg.get_view("name")); break;
        case node_field::kOpType: frame.set_op(msg.get_view("op_type")); break;
        case node_field::kAttribute: msg.get_view("attribute"), ++n_attrs; break;
        default: msg.skip(); break;
      }
    }
  }
  check_count(n_inputs, "node inputs");
  check_count(n_outputs, "node outputs");
  check_count(n_attrs, "node attributes");
  charge((n_inputs + n_outputs) * sizeof(std::string) + n_attrs * sizeof(OnnxAttribute));
  OnnxNode node;
  node.inputs.reserve(n_inputs);
  node.outputs.reserve(n_outputs);
  node.attributes.reserve(n_attrs);
  Msg msg(*this, bytes);
  while (msg.next()) {
    switch (msg.tag()) {
      case node_field::kInput: node.inputs.push_back(msg.get_string("input")); break;
      case node_field::kOutput: node.outputs.push_back(msg.get_string("output")); break;
      case node_field::kName: node.name = msg.get_string("name"); break;
      case node_field::kOpType: node.op_type = msg.get_string("op_type"); break;
      case node_field::kDomain: node.domain = msg.get_string("domain"); break;
      case node_field::kAttribute:
        node.attributes.push_back(
            parse_attribute(msg.get_view("attribute"), static_cast<int64_t>(node.attributes.size())));
        break;
      default: msg.skip(); break;
    }
  }
  if (node.attributes.size() > 1) {
    std::vector<std::string_view> names;
    names.reserve(node.attributes.size());
    for (const auto& a : node.attributes) names.emplace_back(a.name);
    std::sort(names.begin(), names.end());
    const auto dup = std::adjacent_find(names.begin(), names.end());
    if (dup != names.end()) {
      fail_message(ErrorCode::kFormat, "attribute '" + printable(*dup) + "' appears twice");
    }
  }
  return node;
}

// ---- AttributeProto ----

uint32_t type_bit(OnnxAttrType t) { return 1u << static_cast<uint32_t>(t); }

OnnxAttrType only_type(uint32_t present) {
  for (int32_t t = 1; t <= 14; ++t) {
    if (present == (1u << t)) return static_cast<OnnxAttrType>(t);
  }
  return OnnxAttrType::kUndefined;
}

OnnxAttribute Parser::parse_attribute(std::string_view bytes, int64_t index) {
  FrameGuard frame(*this, "attribute", index, bytes);
  int32_t declared = 0;
  uint32_t present = 0;  // type_bit of every value field seen
  uint64_t n_floats = 0, n_ints = 0, n_strings = 0, n_tensors = 0;
  {
    Msg msg(*this, bytes);
    while (msg.next()) {
      switch (msg.tag()) {
        case attr_field::kName: frame.set_name(msg.get_view("name")); break;
        case attr_field::kType: declared = msg.get_int32("type"); break;
        case attr_field::kF: msg.get_float("f"), present |= type_bit(OnnxAttrType::kFloat); break;
        case attr_field::kI: msg.get_varint("i"), present |= type_bit(OnnxAttrType::kInt); break;
        case attr_field::kS: msg.get_view("s"), present |= type_bit(OnnxAttrType::kString); break;
        case attr_field::kT: msg.get_view("t"), present |= type_bit(OnnxAttrType::kTensor); break;
        case attr_field::kFloats:
          n_floats += msg.count_repeated(Scalar::kFixed32, "floats");
          present |= type_bit(OnnxAttrType::kFloats);
          break;
        case attr_field::kInts:
          n_ints += msg.count_repeated(Scalar::kVarint, "ints");
          present |= type_bit(OnnxAttrType::kInts);
          break;
        case attr_field::kStrings:
          msg.get_view("strings"), ++n_strings;
          present |= type_bit(OnnxAttrType::kStrings);
          break;
        case attr_field::kTensors:
          msg.get_view("tensors"), ++n_tensors;
          present |= type_bit(OnnxAttrType::kTensors);
          break;
        case attr_field::kG:
        case attr_field::kGraphs:
          set_field_name(msg.tag() == attr_field::kG ? "g" : "graphs");
          fail(ErrorCode::kUnsupported,
               "graph-valued attribute (subgraphs, as in If/Loop/Scan bodies, are not supported)");
        case attr_field::kSparseTensor:
        case attr_field::kSparseTensors:
          set_field_name(msg.tag() == attr_field::kSparseTensor ? "sparse_tensor" : "sparse_tensors");
          fail(ErrorCode::kUnsupported, "sparse tensor attributes are not supported");
        case attr_field::kTp:
        case attr_field::kTypeProtos:
          set_field_name(msg.tag() == attr_field::kTp ? "tp" : "type_protos");
          fail(ErrorCode::kUnsupported, "type-proto attributes are not supported");
        case attr_field::kRefAttrName:
          set_field_name("ref_attr_name");
          fail(ErrorCode::kUnsupported,
               "attribute refers to a function's attribute (model-local functions are not supported)");
        default: msg.skip(); break;
      }
    }
  }
  OnnxAttrType type = static_cast<OnnxAttrType>(declared);
  if (declared == 0) {
    // IR version 1 had no type field: the one value field present decides.
    type = only_type(present);
    if (type == OnnxAttrType::kUndefined) {
      fail_message(ErrorCode::kFormat, "attribute has no type and no single value field to infer it from");
    }
  }
  if (declared < 0 || declared > 14) {
    fail_message(ErrorCode::kUnsupported, "unknown attribute type " + std::to_string(declared));
  }
  switch (type) {
    case OnnxAttrType::kGraph:
    case OnnxAttrType::kGraphs:
    case OnnxAttrType::kSparseTensor:
    case OnnxAttrType::kSparseTensors:
    case OnnxAttrType::kTypeProto:
    case OnnxAttrType::kTypeProtos:
      fail_message(ErrorCode::kUnsupported, std::string("attributes of type ") + onnx_attr_type_name(type) +
                                                " are not supported (subgraphs, sparse tensors, type protos)");
    default: break;
  }
  if ((present & ~type_bit(type)) != 0) {
    const OnnxAttrType other = only_type(present & ~type_bit(type));
    fail_message(ErrorCode::kFormat,
                 std::string("attribute is declared ") + onnx_attr_type_name(type) + " but holds " +
                     (other == OnnxAttrType::kUndefined ? std::string("several kinds of values")
                                                        : std::string("a ") + onnx_attr_type_name(other) + " value"));
  }
  if (type == OnnxAttrType::kTensor && (present & type_bit(OnnxAttrType::kTensor)) == 0) {
    // (Absent scalars read as protobuf defaults, but there is no default tensor.)
    fail_message(ErrorCode::kFormat, "attribute is declared TENSOR but holds no tensor");
  }
  check_count(n_floats, "attribute floats");
  check_count(n_ints, "attribute ints");
  check_count(n_strings, "attribute strings");
  check_count(n_tensors, "attribute tensors");
  charge(n_floats * sizeof(float) + n_ints * sizeof(int64_t) + n_strings * sizeof(std::string) +
         n_tensors * sizeof(OnnxTensor));

  OnnxAttribute a;
  a.type = type;
  a.floats.reserve(n_floats);
  a.ints.reserve(n_ints);
  a.strings.reserve(n_strings);
  a.tensors.reserve(n_tensors);
  Msg msg(*this, bytes);
  while (msg.next()) {
    switch (msg.tag()) {
      case attr_field::kName: a.name = msg.get_string("name"); break;
      case attr_field::kF: a.f = msg.get_float("f"); break;
      case attr_field::kI: a.i = msg.get_int64("i"); break;
      case attr_field::kS: a.s = msg.get_string("s"); break;
      case attr_field::kT: a.t = parse_tensor(msg.get_view("t"), "t", -1); break;
      case attr_field::kFloats:
        msg.read_repeated(Scalar::kFixed32, "floats", [&](uint64_t bits) {
          float v;
          const auto b = static_cast<uint32_t>(bits);
          std::memcpy(&v, &b, sizeof v);
          a.floats.push_back(v);
        });
        break;
      case attr_field::kInts:
        msg.read_repeated(Scalar::kVarint, "ints",
                          [&](uint64_t bits) { a.ints.push_back(static_cast<int64_t>(bits)); });
        break;
      case attr_field::kStrings: a.strings.push_back(msg.get_string("strings")); break;
      case attr_field::kTensors:
        a.tensors.push_back(
            parse_tensor(msg.get_view("tensors"), "tensors", static_cast<int64_t>(a.tensors.size())));
        break;
      default: msg.skip(); break;
    }
  }
  return a;
}

// ---- TensorProto ----

// The typed field that may hold a dtype's values, and how many values make one element.
struct TypedField {
  uint32_t field = 0;
  uint32_t per_element = 1;
  Scalar scalar = Scalar::kVarint;
};

TypedField typed_field_for(OnnxDataType dt) {
  switch (dt) {
    case OnnxDataType::kFloat: return {tensor_field::kFloatData, 1, Scalar::kFixed32};
    case OnnxDataType::kComplex64: return {tensor_field::kFloatData, 2, Scalar::kFixed32};
    case OnnxDataType::kInt32:
    case OnnxDataType::kInt16:
    case OnnxDataType::kInt8:
    case OnnxDataType::kUint16:
    case OnnxDataType::kUint8:
    case OnnxDataType::kBool:
    case OnnxDataType::kFloat16:
    case OnnxDataType::kBfloat16:
    case OnnxDataType::kFloat8E4M3FN:
    case OnnxDataType::kFloat8E4M3FNUZ:
    case OnnxDataType::kFloat8E5M2:
    case OnnxDataType::kFloat8E5M2FNUZ:
    case OnnxDataType::kFloat8E8M0:
      return {tensor_field::kInt32Data, 1, Scalar::kVarint};
    case OnnxDataType::kInt64: return {tensor_field::kInt64Data, 1, Scalar::kVarint};
    case OnnxDataType::kDouble: return {tensor_field::kDoubleData, 1, Scalar::kFixed64};
    case OnnxDataType::kComplex128: return {tensor_field::kDoubleData, 2, Scalar::kFixed64};
    case OnnxDataType::kUint32:
    case OnnxDataType::kUint64:
      return {tensor_field::kUint64Data, 1, Scalar::kVarint};
    case OnnxDataType::kString: return {tensor_field::kStringData, 1, Scalar::kVarint};
    default: return {};  // 4-bit and unknown dtypes: raw_data only
  }
}

const char* tensor_field_name(uint32_t field) {
  switch (field) {
    case tensor_field::kFloatData: return "float_data";
    case tensor_field::kInt32Data: return "int32_data";
    case tensor_field::kStringData: return "string_data";
    case tensor_field::kInt64Data: return "int64_data";
    case tensor_field::kDoubleData: return "double_data";
    case tensor_field::kUint64Data: return "uint64_data";
    case tensor_field::kRawData: return "raw_data";
    default: return "?";
  }
}

OnnxTensor Parser::parse_tensor(std::string_view bytes, const char* kind, int64_t index) {
  FrameGuard frame(*this, kind, index, bytes);
  std::vector<int64_t> dims;
  int32_t dtype = 0;
  std::string_view name, raw;
  bool has_raw = false, has_external = false, has_segment = false;
  int32_t data_location = 0;
  uint32_t typed_present = 0;  // bit per typed field number
  uint64_t typed_count = 0;    // values over all typed fields
  uint64_t string_bytes = 0;
  uint64_t extra_dims = 0;
  {
    Msg msg(*this, bytes);
    while (msg.next()) {
      const uint32_t tag = msg.tag();
      switch (tag) {
        case tensor_field::kDims:
          msg.read_repeated(Scalar::kVarint, "dims", [&](uint64_t v) {
            // Beyond max_rank only counted: reported once the name is known.
            if (dims.size() < lim_.max_rank) {
              dims.push_back(static_cast<int64_t>(v));
            } else {
              ++extra_dims;
            }
          });
          break;
        case tensor_field::kDataType: dtype = msg.get_int32("data_type"); break;
        case tensor_field::kSegment: msg.get_view("segment"), has_segment = true; break;
        case tensor_field::kFloatData:
          typed_count += msg.count_repeated(Scalar::kFixed32, "float_data");
          typed_present |= 1u << tag;
          break;
        case tensor_field::kInt32Data:
          typed_count += msg.count_repeated(Scalar::kVarint, "int32_data");
          typed_present |= 1u << tag;
          break;
        case tensor_field::kInt64Data:
          typed_count += msg.count_repeated(Scalar::kVarint, "int64_data");
          typed_present |= 1u << tag;
          break;
        case tensor_field::kDoubleData:
          typed_count += msg.count_repeated(Scalar::kFixed64, "double_data");
          typed_present |= 1u << tag;
          break;
        case tensor_field::kUint64Data:
          typed_count += msg.count_repeated(Scalar::kVarint, "uint64_data");
          typed_present |= 1u << tag;
          break;
        case tensor_field::kStringData:
          string_bytes += msg.get_view("string_data").size();
          ++typed_count;
          typed_present |= 1u << tag;
          break;
        case tensor_field::kName:
          name = msg.get_view("name");
          frame.set_name(name);
          break;
        case tensor_field::kRawData:
          if (has_raw) fail(ErrorCode::kFormat, "raw_data appears twice");
          raw = msg.get_view("raw_data");
          has_raw = true;
          break;
        case tensor_field::kExternalData: msg.get_view("external_data"), has_external = true; break;
        case tensor_field::kDataLocation: data_location = msg.get_int32("data_location"); break;
        default: msg.skip(); break;
      }
    }
  }

  const std::string label = "tensor '" + printable(name) + "'";
  if (name.size() > lim_.max_string_bytes) {
    fail_message(ErrorCode::kLimit, "tensor name of " + std::to_string(name.size()) +
                                        " bytes exceeds OnnxLimits::max_string_bytes");
  }
  if (extra_dims > 0) {
    fail_message(ErrorCode::kLimit, label + " has " + std::to_string(dims.size() + extra_dims) +
                                        " dims, above OnnxLimits::max_rank (" + std::to_string(lim_.max_rank) + ")");
  }
  if (data_location == 1 || has_external) {
    fail_message(ErrorCode::kUnsupported,
                 label + " keeps its data in an external file (data_location EXTERNAL); "
                         "only self-contained .onnx files are supported");
  }
  if (data_location != 0) {
    fail_message(ErrorCode::kFormat, label + " has an invalid data_location " + std::to_string(data_location));
  }
  if (has_segment) fail_message(ErrorCode::kUnsupported, label + " is segmented (TensorProto.segment)");
  if (dtype == 0) fail_message(ErrorCode::kFormat, label + " has no data_type");
  const auto dt = static_cast<OnnxDataType>(dtype);

  // Element count, overflow-safe.
  uint64_t elements = 1;
  for (int64_t d : dims) {
    if (d < 0) {
      fail_message(ErrorCode::kFormat,
                   label + " has a negative dim " + std::to_string(d) + " in dims " + dims_string(dims));
    }
  }
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) {
    elements = 0;
  } else {
    for (int64_t d : dims) {
      const auto ud = static_cast<uint64_t>(d);
      if (elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ud) {
        fail_message(ErrorCode::kFormat, label + ": the product of dims " + dims_string(dims) + " overflows");
      }
      elements *= ud;
    }
  }

  const int n_sources = (has_raw ? 1 : 0) + std::popcount(typed_present);
  if (n_sources > 1) {
    fail_message(ErrorCode::kFormat, label + " holds its data in more than one of raw_data and the typed fields");
  }
  const uint64_t cap = std::min<uint64_t>(lim_.max_tensor_bytes, 1ull << 56);
  const size_t bits = onnx_dtype_bits(dt);
  uint64_t nbytes = 0;  // the size of the decoded data
  TypedField typed;
  if (dt == OnnxDataType::kString) {
    if (has_raw) fail_message(ErrorCode::kFormat, label + " of dtype STRING uses raw_data");
    if (typed_present & ~(1u << tensor_field::kStringData)) {
      fail_message(ErrorCode::kFormat, label + " of dtype STRING has numeric data fields");
    }
    if (typed_count != elements) {
      fail_message(ErrorCode::kFormat, label + " has " + std::to_string(typed_count) + " strings, but dims " +
                                           dims_string(dims) + " need " + std::to_string(elements));
    }
    nbytes = string_bytes + typed_count * sizeof(std::string);
    if (nbytes > lim_.max_tensor_bytes) {
      fail_message(ErrorCode::kLimit, label + " needs " + std::to_string(nbytes) +
                                          " bytes, above OnnxLimits::max_tensor_bytes (" +
                                          std::to_string(lim_.max_tensor_bytes) + ")");
    }
  } else if (bits == 0) {
    // A dtype this build does not know: kept as raw bytes for the engine to reject.
    if (typed_present) {
      const auto present_field = static_cast<uint32_t>(std::countr_zero(typed_present));
      fail_message(ErrorCode::kUnsupported,
                   label + " of " + onnx_dtype_name(dt) + " stores its values in " + tensor_field_name(present_field));
    }
    if (has_raw) {
      nbytes = raw.size();
      if (nbytes > lim_.max_tensor_bytes) {
        fail_message(ErrorCode::kLimit, label + " has " + std::to_string(nbytes) +
                                            " bytes, above OnnxLimits::max_tensor_bytes (" +
                                            std::to_string(lim_.max_tensor_bytes) + ")");
      }
    } else if (elements > 0) {
      fail_message(ErrorCode::kFormat, label + " has no data for its " + std::to_string(elements) + " elements");
    }
  } else {
    if (elements > cap * 8 / bits) {
      fail_message(ErrorCode::kLimit, label + " of " + onnx_dtype_name(dt) + " with dims " + dims_string(dims) +
                                          " needs more than OnnxLimits::max_tensor_bytes (" +
                                          std::to_string(lim_.max_tensor_bytes) + ")");
    }
    nbytes = (elements * bits + 7) / 8;
    if (has_raw) {
      if (raw.size() != nbytes) {
        fail_message(ErrorCode::kFormat, "raw_data of " + label + " has " + std::to_string(raw.size()) +
                                             " bytes, but " + onnx_dtype_name(dt) + " dims " + dims_string(dims) +
                                             " need " + std::to_string(nbytes));
      }
    } else if (typed_present) {
      typed = typed_field_for(dt);
      const auto present_field = static_cast<uint32_t>(std::countr_zero(typed_present));
      if (typed.field == 0) {
        fail_message(ErrorCode::kUnsupported, label + " of " + onnx_dtype_name(dt) + " stores its values in " +
                                                  tensor_field_name(present_field) + " (only raw_data is supported)");
      }
      if (present_field != typed.field) {
        fail_message(ErrorCode::kFormat, label + " of " + onnx_dtype_name(dt) + " stores its values in " +
                                             tensor_field_name(present_field) + " instead of " +
                                             tensor_field_name(typed.field));
      }
      if (typed_count != elements * typed.per_element) {
        fail_message(ErrorCode::kFormat, label + " has " + std::to_string(typed_count) + " values in " +
                                             tensor_field_name(typed.field) + ", but " + onnx_dtype_name(dt) +
                                             " dims " + dims_string(dims) + " need " +
                                             std::to_string(elements * typed.per_element));
      }
    } else if (elements > 0) {
      fail_message(ErrorCode::kFormat, label + " has no data for its " + std::to_string(elements) + " elements");
    }
  }
  if (nbytes > lim_.max_total_tensor_bytes || tensor_bytes_ > lim_.max_total_tensor_bytes - nbytes) {
    fail_message(ErrorCode::kLimit, label + " brings the tensor data above OnnxLimits::max_total_tensor_bytes (" +
                                        std::to_string(lim_.max_total_tensor_bytes) + ")");
  }
  tensor_bytes_ += nbytes;
  charge(nbytes + name.size() + dims.size() * sizeof(int64_t));

  OnnxTensor t;
  t.name = std::string(name);
  t.dtype = dt;
  t.dims = std::move(dims);
  if (has_raw) {
    const auto* first = reinterpret_cast<const uint8_t*>(raw.data());
    t.raw.assign(first, first + raw.size());  // the one copy of the file's bytes
  } else if (dt == OnnxDataType::kString && typed_count > 0) {
    t.strings.reserve(typed_count);
    Msg msg(*this, bytes);
    while (msg.next()) {
      if (msg.tag() == tensor_field::kStringData) {
        t.strings.push_back(msg.get_string("string_data"));
      } else {
        msg.skip();
      }
    }
  } else if (typed.field != 0 && nbytes > 0) {
    t.raw.resize(nbytes);
    const size_t width = bits / 8 / typed.per_element;  // bytes of one value in raw
    const bool is_bool = dt == OnnxDataType::kBool;
    size_t pos = 0;
    uint8_t* out = t.raw.data();
    Msg msg(*this, bytes);
    while (msg.next()) {
      if (msg.tag() != typed.field) {
        msg.skip();
        continue;
      }
      msg.read_repeated(typed.scalar, tensor_field_name(typed.field), [&](uint64_t v) {
        if (pos + width > nbytes) fail(ErrorCode::kFormat, "more values than counted");
        if (is_bool) v = v != 0 ? 1 : 0;
        std::memcpy(out + pos, &v, width);  // little-endian host: the low bytes
        pos += width;
      });
    }
    if (pos != nbytes) fail_message(ErrorCode::kFormat, label + ": fewer values than counted");
  }
  return t;
}

// ---- ValueInfoProto / TypeProto ----

OnnxValueInfo Parser::parse_value_info(std::string_view bytes, const char* kind, int64_t index) {
  FrameGuard frame(*this, kind, index, bytes);
  OnnxValueInfo info;
  Msg msg(*this, bytes);
  while (msg.next()) {
    switch (msg.tag()) {
      case value_info_field::kName: {
        const std::string_view name = msg.get_kept_view("name");
        info.name = std::string(name);
        frame.set_name(name);
        break;
      }
      case value_info_field::kType: parse_type(msg.get_view("type"), info); break;
      default: msg.skip(); break;
    }
  }
  return info;
}

void Parser::parse_type(std::string_view bytes, OnnxValueInfo& info) {
  Msg msg(*this, bytes);
  while (msg.next()) {
    switch (msg.tag()) {
      case type_field::kTensorType:
        info.is_tensor = true;
        parse_tensor_type(msg.get_view("tensor_type"), info);
        break;
      case type_field::kSequenceType:
      case type_field::kMapType:
      case type_field::kSparseTensorType:
      case type_field::kOptionalType:
        msg.get_view("type");
        info.is_tensor = false;
        info.elem_type = OnnxDataType::kUndefined;
        info.has_shape = false;
        info.shape.clear();
        break;
      default: msg.skip(); break;
    }
  }
}

void Parser::parse_tensor_type(std::string_view bytes, OnnxValueInfo& info) {
  Msg msg(*this, bytes);
  while (msg.next()) {
    switch (msg.tag()) {
      case tensor_type_field::kElemType:
        info.elem_type = static_cast<OnnxDataType>(msg.get_int32("elem_type"));
        break;
      case tensor_type_field::kShape: parse_shape(msg.get_view("shape"), info); break;
      default: msg.skip(); break;
    }
  }
}

void Parser::parse_shape(std::string_view bytes, OnnxValueInfo& info) {
  uint64_t rank = 0;
  {
    Msg msg(*this, bytes);
    while (msg.next()) {
      if (msg.tag() == shape_field::kDim) {
        msg.get_view("dim");
        ++rank;
      } else {
        msg.skip();
      }
    }
  }
  if (rank > lim_.max_rank) {
    fail(ErrorCode::kLimit, "shape of rank " + std::to_string(rank) + " exceeds OnnxLimits::max_rank (" +
                                std::to_string(lim_.max_rank) + ")");
  }
  charge(rank * sizeof(OnnxDim));
  info.has_shape = true;
  info.shape.clear();
  info.shape.reserve(rank);
  Msg msg(*this, bytes);
  while (msg.next()) {
    if (msg.tag() == shape_field::kDim) {
      info.shape.push_back(parse_dim(msg.get_view("dim")));
    } else {
      msg.skip();
    }
  }
}

OnnxDim Parser::parse_dim(std::string_view bytes) {
  OnnxDim dim;
  Msg msg(*this, bytes);
  while (msg.next()) {
    switch (msg.tag()) {
      case dim_field::kDimValue:
        dim.value = msg.get_int64("dim_value");
        dim.param.clear();
        if (dim.value < 0) fail(ErrorCode::kFormat, "negative dim_value " + std::to_string(dim.value));
        break;
      case dim_field::kDimParam:
        dim.param = msg.get_string("dim_param");
        dim.value = -1;
        break;
      default: msg.skip(); break;
    }
  }
  return dim;
}

}  // namespace

OnnxModel parse_onnx(std::span<const uint8_t> bytes, const OnnxLimits& limits) {
  Parser parser(bytes, limits);
  return parser.run();
}

}  // namespace iciia
