#include "engine/engine.h"

#include <chrono>
#include <fstream>

#include "util/error.h"

namespace iciia::engine {

Engine Engine::load(std::span<const uint8_t> onnx, const EngineOptions& options) {
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
  build.input_dims[in.name] = dims;
  infer(e.graph_, build);
  if (e.graph_.values[e.input_].dtype != DType::kFloat32)
    throw Error(ErrorCode::kUnsupported, "input " + e.graph_.values[e.input_].describe() + " is not float");

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
  e.stats_ = graph_stats(e.graph_);
  e.plan_ = build_plan(e.graph_, keep);
  e.arena_.assign(static_cast<size_t>(e.plan_.arena_floats + e.plan_.scratch_floats), 0.f);
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

void Engine::run(std::span<const float> input) {
  load_input(input);
  float* scratch = arena_.data() + plan_.arena_floats;
  for (const auto& step : plan_.steps) step->run(arena_.data(), scratch);
}

std::vector<StepTiming> Engine::run_profiled(std::span<const float> input) {
  load_input(input);
  float* scratch = arena_.data() + plan_.arena_floats;
  std::vector<StepTiming> out;
  for (const auto& step : plan_.steps) {
    const auto t0 = std::chrono::steady_clock::now();
    step->run(arena_.data(), scratch);
    const auto t1 = std::chrono::steady_clock::now();
    out.push_back({step->label, step->kind, step->macs, std::chrono::duration<double, std::milli>(t1 - t0).count()});
  }
  return out;
}

std::vector<float> Engine::read(const std::string& name) const {
  const int id = value_id(name);
  const Value& v = graph_.values[id];
  if (v.constant) return v.f32;
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
