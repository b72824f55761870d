// The backbone engine's public face: load an ONNX image classifier once
// (parse, infer shapes, fold, fuse, pack weights, plan one arena), then run
// it any number of times without allocating.
//
// The input is NCHW float32 as in the model; any value of the graph can be
// read back by name after a run (ask for it at load, so its memory is kept),
// in its logical ONNX layout.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/graph_stats.h"
#include "engine/plan.h"
#include "util/thread_pool.h"
#include "onnx/onnx_model.h"

namespace iciia::engine {

struct EngineOptions {
  // Input dims (NCHW). Empty: the model's own, with an open batch dim set to 1.
  std::vector<int64_t> input_dims;
  // Values to keep readable after run() besides the graph outputs (e.g. the
  // features a classifier's last Gemm consumes).
  std::vector<std::string> tensors;
  // Bounds of the file itself (parse_onnx).
  OnnxLimits limits;

  // Bounds of what a model may make the engine allocate and compute. A model
  // file is untrusted: shape arithmetic in a tiny file can ask for huge
  // tensors. Every bound is checked before the memory it guards is allocated
  // (values and folded constants while shapes are inferred; the run cost and
  // step count before weights are packed; the arena before it is allocated),
  // and a violation throws Error(kLimit) naming the value or node and the
  // bound. load() throws kInvalidArgument for a bound outside its range.
  //
  // The arena of one plan: every runtime value plus the scratch shared by all
  // steps (im2col rows, indirection pointers, layout copies; per thread,
  // except Winograd's transformed tiles, which its threads share).
  uint64_t max_arena_bytes = 1ull << 30;
  // Elements of any one value (runtime or folded constant); also bounds each
  // dimension and the product of the non-zero ones, so a value with an empty
  // dimension cannot carry absurd others. In [1, 2^31 - 1]: kernels index
  // with int.
  int64_t max_value_elements = 1ll << 26;
  // Elements of all constants computed at load time together (folding).
  int64_t max_folded_elements = 1ll << 27;
  // Runtime nodes (after folding, before fusion: an upper bound of the steps).
  int64_t max_steps = 16384;
  // The input's dims (given in input_dims or declared in the file): each of
  // them, and their product.
  int64_t max_input_dim = 1 << 16;
  int64_t max_input_elements = 1ll << 26;
  // Estimated work of one run(): Conv/Gemm/MatMul multiply-adds, pooling
  // window taps, and one operation per element read or written by the other
  // steps. Bounds the time a hostile model can make run() take.
  int64_t max_run_ops = 1ll << 40;

  // Threads a run() spreads its layers over, the caller's included, in
  // [1, ThreadPool::kMaxThreads]. Engines asking for the same count share one
  // pool (ThreadPool::shared). Outputs do not depend on it, bit for bit.
  int threads = 1;
};

struct StepTiming {
  std::string label, kind;
  int64_t macs = 0;
  double ms = 0.0;
};

class Engine {
 public:
  // Throws iciia::Error: kFormat for a malformed model, kUnsupported naming
  // the op, node and opset it cannot run, kLimit for a model over one of the
  // bounds of EngineOptions (or one the allocator cannot satisfy),
  // kInvalidArgument for bad options. Nothing else escapes.
  static Engine load(std::span<const uint8_t> onnx, const EngineOptions& options = {});
  static Engine load_file(const std::string& path, const EngineOptions& options = {});

  const std::string& input_name() const { return graph_.values[input_].name; }
  const std::vector<int64_t>& input_dims() const { return graph_.values[input_].dims; }
  // Graph outputs, then the requested tensors.
  const std::vector<std::string>& readable() const { return readable_; }
  std::vector<int64_t> dims(const std::string& name) const;
  const GraphStats& stats() const { return stats_; }
  const Plan& plan() const { return plan_; }
  const Graph& graph() const { return graph_; }
  size_t arena_bytes() const { return arena_.size() * sizeof(float); }
  int threads() const { return pool_ ? pool_->threads() : 1; }
  // The threads the backbone runs on (null: the caller alone), for work
  // around it (preprocessing) to share.
  ThreadPool* pool() const { return pool_.get(); }

  // input: numel(input_dims()) values, NCHW.
  void run(std::span<const float> input);
  // Same, timing every step (for the benchmark's --profile).
  std::vector<StepTiming> run_profiled(std::span<const float> input);
  // A readable value after run(), in its logical layout.
  std::vector<float> read(const std::string& name) const;

 private:
  static Engine load_checked(std::span<const uint8_t> onnx, const EngineOptions& options);
  void load_input(std::span<const float> input);
  int value_id(const std::string& name) const;
  kernels::Parallel parallel();
  int64_t scratch_stride() const;  // floats between two workers' scratch

  Graph graph_;
  Plan plan_;
  GraphStats stats_;
  int input_ = -1;
  std::vector<std::string> readable_;
  std::vector<float> arena_;  // values, then each worker's scratch (or one shared)
  std::shared_ptr<ThreadPool> pool_;
};

}  // namespace iciia::engine
