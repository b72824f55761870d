// The backbone engine's public face: load an ONNX image classifier once
// (parse, infer shapes, fold, fuse, pack weights, plan one arena), then run
// it any number of times without allocating.
//
// The input is NCHW float32 as in the model; any value of the graph can be
// read back by name after a run (ask for it at load, so its memory is kept),
// in its logical ONNX layout.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/graph_stats.h"
#include "engine/plan.h"
#include "onnx/onnx_model.h"

namespace iciia::engine {

struct EngineOptions {
  // Input dims (NCHW). Empty: the model's own, with an open batch dim set to 1.
  std::vector<int64_t> input_dims;
  // Values to keep readable after run() besides the graph outputs (e.g. the
  // features a classifier's last Gemm consumes).
  std::vector<std::string> tensors;
  OnnxLimits limits;
};

struct StepTiming {
  std::string label, kind;
  int64_t macs = 0;
  double ms = 0.0;
};

class Engine {
 public:
  // Throws iciia::Error: kFormat for a malformed model, kUnsupported naming
  // the op, node and opset it cannot run, kInvalidArgument for bad options.
  static Engine load(std::span<const uint8_t> onnx, const EngineOptions& options = {});
  static Engine load_file(const std::string& path, const EngineOptions& options = {});

  const std::string& input_name() const { return graph_.values[input_].name; }
  const std::vector<int64_t>& input_dims() const { return graph_.values[input_].dims; }
  // Graph outputs, then the requested tensors.
  const std::vector<std::string>& readable() const { return readable_; }
  std::vector<int64_t> dims(const std::string& name) const;
  const GraphStats& stats() const { return stats_; }
  const Plan& plan() const { return plan_; }
  size_t arena_bytes() const { return arena_.size() * sizeof(float); }

  // input: numel(input_dims()) values, NCHW.
  void run(std::span<const float> input);
  // Same, timing every step (for the benchmark's --profile).
  std::vector<StepTiming> run_profiled(std::span<const float> input);
  // A readable value after run(), in its logical layout.
  std::vector<float> read(const std::string& name) const;

 private:
  void load_input(std::span<const float> input);
  int value_id(const std::string& name) const;

  Graph graph_;
  Plan plan_;
  GraphStats stats_;
  int input_ = -1;
  std::vector<std::string> readable_;
  std::vector<float> arena_;  // values, then shared scratch
};

}  // namespace iciia::engine
