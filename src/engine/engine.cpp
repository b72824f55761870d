#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <new>
#include <stdexcept>

#include "engine/op_registry.h"
#include "util/error.h"
#include "util/text.h"

namespace iciia::engine {

namespace {

constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();

// Saturating arithmetic on non-negative counts.
int64_t sat_add(int64_t a, int64_t b) { return b > kMax64 - a ? kMax64 : a + b; }
int64_t sat_mul(int64_t a, int64_t b) { return a != 0 && b > kMax64 / a ? kMax64 : a * b; }

std::string count_str(int64_t n) { return n == kMax64 ? "more than 2^63" : std::to_string(n); }

[[noreturn]] void over_limit(const std::string& what, int64_t limit, const char* option) {
  throw Error(ErrorCode::kLimit, what + ", over the limit of " + std::to_string(limit) + " (EngineOptions::" +
                                     option + ")");
}

void check_options(const EngineOptions& o) {
  auto in_range = [](int64_t v, int64_t hi, const char* name) {
    if (v < 1 || v > hi)
      throw Error(ErrorCode::kInvalidArgument, std::string("EngineOptions::") + name + " is " + std::to_string(v) +
                                                   ", expected 1 to " + std::to_string(hi));
  };
  in_range(o.max_value_elements, std::numeric_limits<int32_t>::max(), "max_value_elements");
  in_range(o.max_folded_elements, kMax64, "max_folded_elements");
  in_range(o.max_steps, std::numeric_limits<int32_t>::max(), "max_steps");
  in_range(o.max_input_dim, std::numeric_limits<int32_t>::max(), "max_input_dim");
  in_range(o.max_input_elements, kMax64, "max_input_elements");
  in_range(o.max_run_ops, kMax64, "max_run_ops");
  if (o.max_arena_bytes == 0) throw Error(ErrorCode::kInvalidArgument, "EngineOptions::max_arena_bytes is 0");
  if (o.threads < 1 || o.threads > ThreadPool::kMaxThreads)
    throw Error(ErrorCode::kInvalidArgument, "EngineOptions::threads is " + std::to_string(o.threads) +
                                                 ", expected 1 to " + std::to_string(ThreadPool::kMaxThreads));
}

// The input's dims, before shape inference derives anything from them.
void check_input_dims(const std::string& name, const std::vector<int64_t>& dims, const EngineOptions& o) {
  int64_t product = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] > o.max_input_dim)
      over_limit("input '" + name + "' " + dims_string(dims) + ": dimension " + std::to_string(i) + " is " +
                     std::to_string(dims[i]),
                 o.max_input_dim, "max_input_dim");
    product = sat_mul(product, std::max<int64_t>(dims[i], 0));  // negative dims: infer() rejects them
  }
  if (product > o.max_input_elements)
    over_limit("input '" + name + "' " + dims_string(dims) + " has " + count_str(product) + " elements",
               o.max_input_elements, "max_input_elements");
}

// Estimated work of one runtime node in one run: multiply-adds and window
// taps per output element (its op table entry), plus one operation per
// element read or written. Shapes are inferred and within
// max_value_elements, so every numel() is small; products saturate.
int64_t node_ops(const Graph& g, const Node& n) {
  int64_t traffic = 0;
  for (int id : n.inputs)
    if (id >= 0) traffic = sat_add(traffic, g.values[id].numel());
  int64_t out = 0;
  for (int id : n.outputs)
    if (id >= 0) out = sat_add(out, g.values[id].numel());
  traffic = sat_add(traffic, out);
  int64_t per_output = 0;
  if (n.def->macs_per_output) per_output = sat_add(per_output, n.def->macs_per_output(g, n));
  if (n.def->taps_per_output) per_output = sat_add(per_output, n.def->taps_per_output(g, n));
  return sat_add(traffic, sat_mul(out, per_output));
}

// What must hold before the plan packs weights and sizes the arena: few
// enough steps, bounded work per run, no empty runtime tensors.
void check_runtime(const Graph& g, const EngineOptions& o) {
  int64_t runtime_nodes = 0, ops = 0, worst = -1, worst_ops = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.folded) continue;
    ++runtime_nodes;
    // Constants have no arena slot, and most steps read their input 0 from
    // the arena only: such a node on constant data (e.g. Relu of an
    // initializer, which inference does not fold) cannot run.
    if (!n.inputs.empty() && n.inputs[0] >= 0 && g.values[n.inputs[0]].constant && !(n.def->flags & kConstantData))
      throw Error(ErrorCode::kUnsupported, n.label() + ": its data input " + g.values[n.inputs[0]].describe() +
                                               " is a constant, and the engine does not fold " + n.op_type() +
                                               " at load time");
    if (runtime_nodes > o.max_steps)
      over_limit("the model has more than " + std::to_string(o.max_steps) + " nodes left to run after folding (" +
                     n.label() + " is one too many)",
                 o.max_steps, "max_steps");
    const int64_t k = node_ops(g, n);
    if (k > worst_ops) worst = static_cast<int64_t>(i), worst_ops = k;
    ops = sat_add(ops, k);
  }
  if (ops > o.max_run_ops)
    over_limit("one run of the model needs about " + count_str(ops) + " operations (" + g.nodes[worst].label() +
                   " alone " + count_str(worst_ops) + ")",
               o.max_run_ops, "max_run_ops");
  // The kernels and steps assume non-empty tensors; no classifier computes
  // an empty one.
  for (const Value& v : g.values)
    if (!v.constant && v.shape_known && v.numel() == 0)
      throw Error(ErrorCode::kUnsupported,
                  "value " + v.describe() + (v.producer >= 0 ? " (from " + g.nodes[v.producer].label() + ")" : "") +
                      " has no elements; the engine does not run empty tensors");
}

}  // namespace

Engine Engine::load(std::span<const uint8_t> onnx, const EngineOptions& options) {
  check_options(options);
  try {
    return load_checked(onnx, options);
  } catch (const std::bad_alloc&) {
    // Every size is bounded before allocation; this is the allocator saying
    // no to what the bounds allow (e.g. a wasm heap that cannot grow).
    throw Error(ErrorCode::kLimit, "out of memory while loading the model (lower the bounds of EngineOptions)");
  } catch (const std::length_error&) {
    throw Error(ErrorCode::kLimit, "a buffer larger than the allocator supports while loading the model");
  }
}

Engine Engine::load_checked(std::span<const uint8_t> onnx, const EngineOptions& options) {
  Engine e;
  e.graph_ = build_graph(parse_onnx(onnx, options.limits));
  if (e.graph_.inputs.size() != 1)
    throw Error(ErrorCode::kUnsupported, "the model has " + std::to_string(e.graph_.inputs.size()) +
                                             " inputs; the engine runs single-input classifiers");
  e.input_ = e.graph_.inputs[0];
  const Value& in = e.graph_.values[e.input_];
  BuildOptions build;
  std::vector<int64_t> dims = options.input_dims;
  if (dims.empty()) {
    dims = in.declared;
    if (!dims.empty() && dims[0] < 0) dims[0] = 1;
  }
  check_input_dims(in.name, dims, options);
  build.input_dims[in.name] = dims;
  build.max_value_elements = options.max_value_elements;
  build.max_folded_elements = options.max_folded_elements;
  infer(e.graph_, build);
  if (e.graph_.values[e.input_].dtype != ValueDType::kFloat32)
    throw Error(ErrorCode::kUnsupported, "input " + e.graph_.values[e.input_].describe() + " is not float");
  // Declared dims may be open beyond the batch: the inferred ones are what counts.
  check_input_dims(in.name, e.graph_.values[e.input_].dims, options);

  std::vector<int> keep;
  for (int id : e.graph_.outputs) {
    keep.push_back(id);
    e.readable_.push_back(e.graph_.values[id].name);
  }
  for (const auto& name : options.tensors) {
    const int id = e.graph_.find(name);
    if (id < 0) throw Error(ErrorCode::kInvalidArgument, "no value named '" + name + "' in the model");
    keep.push_back(id);
    e.readable_.push_back(name);
  }
  check_runtime(e.graph_, options);
  e.stats_ = graph_stats(e.graph_);
  e.plan_ = build_plan(e.graph_, keep);
  if (static_cast<int64_t>(e.plan_.steps.size()) > options.max_steps)
    over_limit("the plan has " + std::to_string(e.plan_.steps.size()) + " steps", options.max_steps, "max_steps");
  // One scratch per thread: the steps that split their work give each
  // worker its own; a step whose threads share one buffer (Winograd) uses
  // the same region from its start, so it needs it once, not per thread.
  const int64_t scratch = std::max(sat_mul(e.scratch_stride(), options.threads), e.plan_.shared_scratch_floats);
  const int64_t floats = sat_add(e.plan_.arena_floats, scratch);
  if (e.plan_.arena_floats < 0 || e.plan_.scratch_floats < 0 || e.plan_.shared_scratch_floats < 0 ||
      static_cast<uint64_t>(floats) > options.max_arena_bytes / sizeof(float))
    throw Error(ErrorCode::kLimit, "the arena of the model would take " +
                                       (floats == kMax64 ? std::string("more than 2^63 floats")
                                                         : std::to_string(static_cast<uint64_t>(floats) * 4) +
                                                               " bytes") +
                                       " (values " + std::to_string(e.plan_.arena_floats) + " floats, scratch " +
                                       std::to_string(e.plan_.scratch_floats) + " floats x " +
                                       std::to_string(options.threads) + " threads or " +
                                       std::to_string(e.plan_.shared_scratch_floats) +
                                       " shared, the larger), over the limit of " +
                                       std::to_string(options.max_arena_bytes) +
                                       " bytes (EngineOptions::max_arena_bytes)");
  e.arena_.assign(static_cast<size_t>(floats), 0.f);
  e.pool_ = ThreadPool::shared(options.threads);
  return e;
}

Engine Engine::load_file(const std::string& path, const EngineOptions& options) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error(ErrorCode::kIo, "cannot open model '" + path + "'");
  const std::streamoff size = f.tellg();
  if (size < 0 || static_cast<uint64_t>(size) > options.limits.max_file_bytes)
    throw Error(ErrorCode::kLimit, "model '" + path + "' is larger than the limit of " +
                                       std::to_string(options.limits.max_file_bytes) + " bytes");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(bytes.data()), size);
  if (!f) throw Error(ErrorCode::kIo, "cannot read model '" + path + "'");
  return load(bytes, options);
}

int Engine::value_id(const std::string& name) const {
  for (const auto& r : readable_)
    if (r == name) return graph_.find(name);
  throw Error(ErrorCode::kInvalidArgument, "'" + name + "' is not readable: ask for it in EngineOptions::tensors");
}

std::vector<int64_t> Engine::dims(const std::string& name) const { return graph_.values[value_id(name)].dims; }

void Engine::load_input(std::span<const float> input) {
  const Value& v = graph_.values[input_];
  if (static_cast<int64_t>(input.size()) != v.numel())
    throw Error(ErrorCode::kInvalidArgument, "input has " + std::to_string(input.size()) + " values, expected " +
                                                 v.describe());
  const Slot& s = plan_.slots[input_];
  float* dst = arena_.data() + s.offset;
  if (s.nhwc)
    nchw_to_nhwc(input.data(), int(v.dims[0]), int(v.dims[1]), int(v.dims[2]), int(v.dims[3]), dst);
  else
    std::copy(input.begin(), input.end(), dst);
}

int64_t Engine::scratch_stride() const {
  // Whole cache lines: each worker's scratch starts aligned for the pointer
  // arrays steps keep there, and no two workers write one line.
  return plan_.scratch_floats > kMax64 - 15 ? kMax64 : (plan_.scratch_floats + 15) / 16 * 16;
}

kernels::Parallel Engine::parallel() {
  return {pool_.get(), static_cast<size_t>(scratch_stride())};
}

void Engine::run(std::span<const float> input) {
  load_input(input);
  float* scratch = arena_.data() + plan_.arena_floats;
  const kernels::Parallel par = parallel();
  for (const auto& step : plan_.steps) step->run(arena_.data(), scratch, par);
}

std::vector<StepTiming> Engine::run_profiled(std::span<const float> input) {
  load_input(input);
  float* scratch = arena_.data() + plan_.arena_floats;
  const kernels::Parallel par = parallel();
  std::vector<StepTiming> out;
  for (const auto& step : plan_.steps) {
    const auto t0 = std::chrono::steady_clock::now();
    step->run(arena_.data(), scratch, par);
    const auto t1 = std::chrono::steady_clock::now();
    out.push_back({step->label, step->kind, step->macs, std::chrono::duration<double, std::milli>(t1 - t0).count()});
  }
  return out;
}

std::vector<float> Engine::read(const std::string& name) const {
  const int id = value_id(name);
  const Value& v = graph_.values[id];
  if (v.constant) return v.dtype == ValueDType::kInt64 ? std::vector<float>(v.i64.begin(), v.i64.end()) : v.f32;
  const Slot& s = plan_.slots[id];
  const float* src = arena_.data() + s.offset;
  std::vector<float> out(static_cast<size_t>(v.numel()));
  if (s.nhwc)
    nhwc_to_nchw(src, int(v.dims[0]), int(v.dims[2]), int(v.dims[3]), int(v.dims[1]), out.data());
  else
    std::copy(src, src + out.size(), out.begin());
  return out;
}

}  // namespace iciia::engine
