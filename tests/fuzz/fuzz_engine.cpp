// libFuzzer harness of the whole backbone engine: parse, build the graph,
// infer shapes, fold, plan, pack weights, allocate the arena (Engine::load,
// under small limits), then one run() on a zero input and a read() of every
// readable value. Only iciia::Error may escape; anything else (a crash, a
// sanitizer report, another exception type, a huge allocation, a hang) is a
// bug, and so is a read() whose size disagrees with dims().
//
// The seeds in tests/fuzz/seeds_engine/ are written by this binary:
//   ICIIA_FUZZ_WRITE_SEEDS=tests/fuzz/seeds_engine build/fuzz/tests/fuzz/fuzz_engine
// and so is its dictionary, from the op table (run_fuzz.sh does this):
//   ICIIA_FUZZ_WRITE_DICT=build/fuzz/engine.dict build/fuzz/tests/fuzz/fuzz_engine
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <sstream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "engine/op_registry.h"
#include "fuzz_support.h"
#include "onnx/onnx_writer.h"
#include "util/error.h"

namespace {

using iciia::OnnxDataType;
using iciia::OnnxGraph;
using iciia::OnnxTensor;
namespace ob = iciia::onnx_build;

iciia::engine::EngineOptions fuzz_options() {
  iciia::engine::EngineOptions o;
  o.limits.max_file_bytes = 1u << 20;
  o.limits.max_nodes = 1024;
  o.limits.max_list_elements = 1u << 16;
  o.limits.max_tensor_bytes = 1u << 20;
  o.limits.max_total_tensor_bytes = 4u << 20;
  o.limits.max_string_bytes = 1u << 12;
  o.limits.max_decoded_bytes = 32u << 20;
  o.max_arena_bytes = 64u << 20;
  o.max_value_elements = 1 << 22;
  o.max_folded_elements = 1 << 23;
  o.max_steps = 1024;
  o.max_input_dim = 4096;
  o.max_input_elements = 1 << 20;
  // A few ms per run even under ASan: keeps the fuzzer fast, and work the
  // estimate misses shows up as a timeout.
  o.max_run_ops = 1 << 24;
  return o;
}

// ---- seeds: small models of what the engine runs ----

// Deterministic, varied weights.
OnnxTensor weights(std::string name, std::vector<int64_t> dims, float scale = 0.25f) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  uint32_t s = 12345u + static_cast<uint32_t>(name.size()) * 7919u;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = scale * (static_cast<float>(s >> 8) / 16777216.f - 0.5f);
  }
  return ob::float_tensor(std::move(name), std::move(dims), v);
}

OnnxTensor ints(std::string name, std::vector<int64_t> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  return ob::int64_tensor(std::move(name), {n}, values);
}

OnnxTensor scalar_int(std::string name, int64_t value) {
  return ob::int64_tensor(std::move(name), {}, std::vector<int64_t>{value});
}

// Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm.
OnnxGraph seed_classifier() {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("input", OnnxDataType::kFloat, {-1, 3, 8, 8}));
  g.initializers.push_back(weights("conv.w", {4, 3, 3, 3}));
  g.initializers.push_back(weights("conv.b", {4}));
  g.initializers.push_back(weights("fc.w", {5, 4}));
  g.initializers.push_back(weights("fc.b", {5}));
  g.nodes.push_back(ob::node("Conv", {"input", "conv.w", "conv.b"}, {"c"},
                             {ob::attr_ints("pads", {1, 1, 1, 1}), ob::attr_ints("strides", {2, 2})}, "conv"));
  g.nodes.push_back(ob::node("Relu", {"c"}, {"r"}, {}, "relu"));
  g.nodes.push_back(ob::node("GlobalAveragePool", {"r"}, {"p"}, {}, "gap"));
  g.nodes.push_back(ob::node("Flatten", {"p"}, {"features"}, {ob::attr_int("axis", 1)}, "flatten"));
  g.nodes.push_back(ob::node("Gemm", {"features", "fc.w", "fc.b"}, {"logits"},
                             {ob::attr_int("transB", 1), ob::attr_float("alpha", 1.f)}, "fc"));
  g.outputs.push_back(ob::value_info("logits", OnnxDataType::kFloat, {-1, 5}));
  return g;
}

// The flatten exporters emit: Shape -> Gather -> Unsqueeze -> Concat -> Reshape,
// with Cast / Mul / Div on the shape, then MatMul and Softmax.
OnnxGraph seed_shape_arithmetic() {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("input", OnnxDataType::kFloat, {-1, 2, 4, 4}));
  g.initializers.push_back(scalar_int("zero", 0));
  g.initializers.push_back(ints("axes0", {0}));
  g.initializers.push_back(ints("minus_one", {-1}));
  g.initializers.push_back(scalar_int("two", 2));
  g.initializers.push_back(weights("mm.w", {32, 6}));
  g.nodes.push_back(ob::node("Shape", {"input"}, {"s"}, {}, "shape"));
  g.nodes.push_back(ob::node("Gather", {"s", "zero"}, {"n"}, {ob::attr_int("axis", 0)}, "gather"));
  g.nodes.push_back(ob::node("Mul", {"n", "two"}, {"n2"}, {}, "mul_shape"));
  g.nodes.push_back(ob::node("Div", {"n2", "two"}, {"n3"}, {}, "div_shape"));
  g.nodes.push_back(ob::node("Cast", {"n3"}, {"n4"}, {ob::attr_int("to", 7)}, "cast"));
  g.nodes.push_back(ob::node("Unsqueeze", {"n4", "axes0"}, {"n5"}, {}, "unsqueeze"));
  g.nodes.push_back(ob::node("Concat", {"n5", "minus_one"}, {"target"}, {ob::attr_int("axis", 0)}, "concat"));
  g.nodes.push_back(ob::node("Reshape", {"input", "target"}, {"flat"}, {}, "reshape"));
  g.nodes.push_back(ob::node("MatMul", {"flat", "mm.w"}, {"mm"}, {}, "matmul"));
  g.nodes.push_back(ob::node("Softmax", {"mm"}, {"probs"}, {ob::attr_int("axis", -1)}, "softmax"));
  g.outputs.push_back(ob::value_info("probs", OnnxDataType::kFloat, {-1, 6}));
  return g;
}

// A MobileNetV3-style block: depthwise Conv + BatchNormalization + hardswish
// (x * HardSigmoid(x)), pointwise Conv + Clip, residual Add, Sigmoid gate.
OnnxGraph seed_mobile_block() {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("input", OnnxDataType::kFloat, {1, 8, 6, 6}));
  g.initializers.push_back(weights("dw.w", {8, 1, 3, 3}));
  g.initializers.push_back(weights("bn.scale", {8}, 1.f));
  g.initializers.push_back(weights("bn.bias", {8}));
  g.initializers.push_back(weights("bn.mean", {8}));
  g.initializers.push_back(ob::float_tensor("bn.var", {8}, std::vector<float>(8, 1.f)));
  g.initializers.push_back(weights("pw.w", {8, 8, 1, 1}));
  g.initializers.push_back(ob::float_tensor("lo", {}, std::vector<float>{0.f}));
  g.initializers.push_back(ob::float_tensor("hi", {}, std::vector<float>{6.f}));
  g.nodes.push_back(ob::node("Conv", {"input", "dw.w"}, {"dw"},
                             {ob::attr_int("group", 8), ob::attr_ints("kernel_shape", {3, 3}),
                              ob::attr_string("auto_pad", "SAME_UPPER")},
                             "dw_conv"));
  g.nodes.push_back(ob::node("BatchNormalization", {"dw", "bn.scale", "bn.bias", "bn.mean", "bn.var"}, {"bn"},
                             {ob::attr_float("epsilon", 1e-5f)}, "bn"));
  g.nodes.push_back(ob::node("HardSigmoid", {"bn"}, {"hsig"},
                             {ob::attr_float("alpha", 1.f / 6.f), ob::attr_float("beta", 0.5f)}, "hsig"));
  g.nodes.push_back(ob::node("Mul", {"bn", "hsig"}, {"hswish"}, {}, "hswish"));
  g.nodes.push_back(ob::node("Conv", {"hswish", "pw.w"}, {"pw"}, {}, "pw_conv"));
  g.nodes.push_back(ob::node("Add", {"pw", "input"}, {"res"}, {}, "residual"));
  g.nodes.push_back(ob::node("Clip", {"res", "lo", "hi"}, {"relu6"}, {}, "clip"));
  g.nodes.push_back(ob::node("Sigmoid", {"relu6"}, {"gate"}, {}, "sigmoid"));
  g.nodes.push_back(ob::node("Mul", {"relu6", "gate"}, {"out"}, {}, "gate_mul"));
  g.outputs.push_back(ob::value_info("out", OnnxDataType::kFloat, {1, 8, 6, 6}));
  return g;
}

// Pooling, Concat, Pad, Slice, Split, Transpose, ReduceMean, Squeeze at opset 11
// (axes and split as attributes), Sub, Div, Dropout, Identity.
OnnxGraph seed_layout_ops() {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("input", OnnxDataType::kFloat, {1, 4, 8, 8}));
  g.initializers.push_back(ints("pads", {0, 0, 1, 1, 0, 0, 1, 1}));
  g.initializers.push_back(ints("starts", {1}));
  g.initializers.push_back(ints("ends", {7}));
  g.initializers.push_back(ints("axes", {3}));
  g.initializers.push_back(ob::float_tensor("k", {}, std::vector<float>{2.f}));
  g.nodes.push_back(ob::node("MaxPool", {"input"}, {"mp"},
                             {ob::attr_ints("kernel_shape", {3, 3}), ob::attr_ints("strides", {2, 2}),
                              ob::attr_ints("pads", {1, 1, 1, 1})},
                             "maxpool"));
  g.nodes.push_back(ob::node("AveragePool", {"input"}, {"ap"},
                             {ob::attr_ints("kernel_shape", {2, 2}), ob::attr_ints("strides", {2, 2}),
                              ob::attr_int("ceil_mode", 1)},
                             "avgpool"));
  g.nodes.push_back(ob::node("Concat", {"mp", "ap"}, {"cat"}, {ob::attr_int("axis", 1)}, "concat"));
  g.nodes.push_back(ob::node("Pad", {"cat", "pads"}, {"padded"}, {ob::attr_string("mode", "constant")}, "pad"));
  g.nodes.push_back(ob::node("Slice", {"padded", "starts", "ends", "axes"}, {"sliced"}, {}, "slice"));
  g.nodes.push_back(ob::node("Split", {"sliced"}, {"s0", "s1"},
                             {ob::attr_int("axis", 1), ob::attr_ints("split", {4, 4})}, "split"));
  g.nodes.push_back(ob::node("Sub", {"s0", "s1"}, {"diff"}, {}, "sub"));
  g.nodes.push_back(ob::node("Div", {"diff", "k"}, {"half"}, {}, "div"));
  g.nodes.push_back(ob::node("Transpose", {"half"}, {"t"}, {ob::attr_ints("perm", {0, 2, 3, 1})}, "transpose"));
  g.nodes.push_back(ob::node("ReduceMean", {"t"}, {"m"}, {ob::attr_ints("axes", {1, 2}), ob::attr_int("keepdims", 1)},
                             "reduce"));
  g.nodes.push_back(ob::node("Squeeze", {"m"}, {"sq"}, {ob::attr_ints("axes", {1, 2})}, "squeeze"));
  g.nodes.push_back(ob::node("Unsqueeze", {"sq"}, {"us"}, {ob::attr_ints("axes", {2})}, "unsqueeze"));
  g.nodes.push_back(ob::node("Dropout", {"us"}, {"dr"}, {}, "dropout"));
  g.nodes.push_back(ob::node("Identity", {"dr"}, {"out"}, {}, "identity"));
  g.outputs.push_back(ob::value_info("out", OnnxDataType::kFloat, {1, 4, 1}));
  return g;
}

// What runs today among the layout ops: pools, Concat, Sub / Div against a
// constant, GlobalAveragePool, Flatten, Softmax (opset 11: axis 1).
OnnxGraph seed_pools() {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("input", OnnxDataType::kFloat, {1, 3, 7, 7}));
  g.initializers.push_back(weights("shift", {1, 6, 1, 1}));
  g.initializers.push_back(ob::float_tensor("k", {}, std::vector<float>{4.f}));
  g.nodes.push_back(ob::node("MaxPool", {"input"}, {"mp"},
                             {ob::attr_ints("kernel_shape", {3, 3}), ob::attr_ints("strides", {2, 2}),
                              ob::attr_ints("pads", {1, 1, 1, 1})},
                             "maxpool"));
  g.nodes.push_back(ob::node("AveragePool", {"input"}, {"ap"},
                             {ob::attr_ints("kernel_shape", {3, 3}), ob::attr_ints("strides", {2, 2}),
                              ob::attr_ints("pads", {1, 1, 1, 1}), ob::attr_int("ceil_mode", 1),
                              ob::attr_int("count_include_pad", 0)},
                             "avgpool"));
  g.nodes.push_back(ob::node("Concat", {"mp", "ap"}, {"cat"}, {ob::attr_int("axis", 1)}, "concat"));
  g.nodes.push_back(ob::node("Sub", {"cat", "shift"}, {"centered"}, {}, "sub"));
  g.nodes.push_back(ob::node("Div", {"centered", "k"}, {"scaled"}, {}, "div"));
  g.nodes.push_back(ob::node("GlobalAveragePool", {"scaled"}, {"gap"}, {}, "gap"));
  g.nodes.push_back(ob::node("Flatten", {"gap"}, {"flat"}, {}, "flatten"));
  g.nodes.push_back(ob::node("Softmax", {"flat"}, {"probs"}, {}, "softmax"));
  g.outputs.push_back(ob::value_info("probs", OnnxDataType::kFloat, {1, 6}));
  return g;
}

// Constant nodes (every value_* form) folded through elementwise ops, and a
// HardSwish at opset 14.
OnnxGraph seed_constants() {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("input", OnnxDataType::kFloat, {2, 3}));
  g.nodes.push_back(ob::node("Constant", {}, {"c0"},
                             {ob::attr_tensor("value", ob::float_tensor("v", {1, 3}, std::vector<float>{1, 2, 3}))},
                             "const_tensor"));
  g.nodes.push_back(ob::node("Constant", {}, {"c1"}, {ob::attr_float("value_float", 0.5f)}, "const_float"));
  g.nodes.push_back(ob::node("Constant", {}, {"c2"}, {ob::attr_ints("value_ints", {2, 3})}, "const_ints"));
  g.nodes.push_back(ob::node("Mul", {"c0", "c1"}, {"scaled"}, {}, "fold_mul"));
  g.nodes.push_back(ob::node("Add", {"input", "scaled"}, {"a"}, {}, "add"));
  g.nodes.push_back(ob::node("Reshape", {"a", "c2"}, {"b"}, {}, "reshape"));
  g.nodes.push_back(ob::node("HardSwish", {"b"}, {"out"}, {}, "hardswish"));
  g.outputs.push_back(ob::value_info("out", OnnxDataType::kFloat, {2, 3}));
  return g;
}

// Shape arithmetic whose int64 folding overflows (Add, Sub, Mul) or divides
// INT64_MIN by -1: typed errors (regression inputs; UBSan traps on the
// overflow itself).
OnnxGraph seed_int64_overflow(const char* op, int64_t a, int64_t b) {
  OnnxGraph g;
  g.inputs.push_back(ob::value_info("x", OnnxDataType::kFloat, {1, 4}));
  g.initializers.push_back(ints("a", {a}));
  g.initializers.push_back(ints("b", {b}));
  g.nodes.push_back(ob::node(op, {"a", "b"}, {"shape"}, {}, "fold"));
  g.nodes.push_back(ob::node("Reshape", {"x", "shape"}, {"y"}, {}, "reshape"));
  g.outputs.push_back(ob::value_info("y", OnnxDataType::kFloat, {1, 4}));
  return g;
}

void write_seeds(const std::string& dir) {
  constexpr int64_t kMax = INT64_MAX, kMin = INT64_MIN;
  const std::pair<const char*, iciia::OnnxModel> seeds[] = {
      {"classifier.onnx", ob::model(seed_classifier(), 13)},
      {"shape_arithmetic.onnx", ob::model(seed_shape_arithmetic(), 13)},
      {"mobile_block.onnx", ob::model(seed_mobile_block(), 13)},
      {"layout_ops_opset11.onnx", ob::model(seed_layout_ops(), 11)},
      {"pools_opset11.onnx", ob::model(seed_pools(), 11)},
      {"constants_opset14.onnx", ob::model(seed_constants(), 14)},
      {"int64_add_overflow.onnx", ob::model(seed_int64_overflow("Add", kMax, 1), 13)},
      {"int64_sub_overflow.onnx", ob::model(seed_int64_overflow("Sub", kMin, 1), 13)},
      {"int64_mul_overflow.onnx", ob::model(seed_int64_overflow("Mul", kMax / 2 + 1, 2), 13)},
      {"int64_div_overflow.onnx", ob::model(seed_int64_overflow("Div", kMin, -1), 13)},
  };
  for (const auto& [name, model] : seeds) {
    const auto bytes = iciia::write_onnx(model);
    const std::string path = dir + "/" + name;
    iciia::fuzz::write_file(path, bytes);
    // Say how far the engine gets with each seed (all should load and run
    // once the engine implements every op they use).
    std::string status = "loads and runs";
    try {
      auto e = iciia::engine::Engine::load(bytes, fuzz_options());
      int64_t n = 1;
      for (int64_t d : e.input_dims()) n *= d;
      e.run(std::vector<float>(static_cast<size_t>(n), 0.f));
    } catch (const iciia::Error& err) {
      status = std::string(iciia::error_code_name(err.code())) + ": " + err.what();
    }
    std::printf("wrote %s (%zu bytes): %s\n", path.c_str(), bytes.size(), status.c_str());
  }
}

// The libFuzzer dictionary: every op type of the op table, and the
// attribute names and string values its entries list.
void write_dictionary(const std::string& path) {
  std::set<std::string> words;
  for (const iciia::engine::OpDef* def : iciia::engine::all_ops()) {
    words.insert(def->op_type);
    std::istringstream attributes(def->attributes);
    for (std::string w; attributes >> w;) words.insert(w);
  }
  std::string text;
  for (const auto& w : words) text += "\"" + w + "\"\n";
  iciia::fuzz::write_file(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  std::printf("wrote %zu words to %s\n", words.size(), path.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* path = std::getenv("ICIIA_FUZZ_WRITE_DICT")) {
    write_dictionary(path);
    std::exit(0);
  }
  return iciia::fuzz::write_seeds_if_asked(write_seeds);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const iciia::engine::EngineOptions options = fuzz_options();
  std::optional<iciia::engine::Engine> engine;
  try {
    engine.emplace(iciia::engine::Engine::load(std::span<const uint8_t>(data, size), options));
  } catch (const iciia::Error&) {
    return 0;  // rejected: fine, as long as nothing else escaped
  }
  // Loaded: every size below was bounded by the options.
  int64_t n = 1;
  for (int64_t d : engine->input_dims()) n *= d;
  if (n < 0 || n > options.max_input_elements) __builtin_trap();
  if (engine->arena_bytes() > options.max_arena_bytes) __builtin_trap();
  try {
    engine->run(std::vector<float>(static_cast<size_t>(n), 0.f));
  } catch (const iciia::Error&) {
    return 0;
  }
  for (const std::string& name : engine->readable()) {
    try {
      const std::vector<float> v = engine->read(name);
      int64_t count = 1;
      for (int64_t d : engine->dims(name)) count *= d;
      if (static_cast<int64_t>(v.size()) != count) __builtin_trap();
    } catch (const iciia::Error&) {
    }
  }
  return 0;
}
