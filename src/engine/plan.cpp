#include "engine/plan.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>

#include "engine/steps.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

// One runtime node after fusion, with what was fused into it.
struct Task {
  const Node* node = nullptr;
  int output = -1;
  kernels::Epilogue epilogue;
  int residual = -1;
  const Node* batchnorm = nullptr;
  int alias_of = -1;  // reshape-like task whose output shares its input's memory
};

bool is_reshape_like(const std::string& op) {
  return op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" || op == "Identity" ||
         op == "Dropout";
}

// Whether the bytes of a value stored as `slot` are in its logical row-major order.
bool storage_is_logical(const Value& v, const Slot& slot) {
  return !slot.nhwc || v.dims[1] == 1 || v.dims[2] * v.dims[3] == 1;
}

class Planner {
 public:
  Planner(const Graph& g, const std::vector<int>& keep) : g_(g), kept_(g.values.size(), false) {
    for (int id : keep) kept_[id] = true;
  }

  Plan run() {
    assign_storage();
    count_consumers();
    fuse();
    plan_memory();
    make_steps();
    return std::move(plan_);
  }

 private:
  void assign_storage() {
    plan_.slots.resize(g_.values.size());
    for (size_t id = 0; id < g_.values.size(); ++id) {
      const Value& v = g_.values[id];
      Slot& s = plan_.slots[id];
      if (v.constant) continue;
      if (v.dtype != DType::kFloat32) {
        const std::string who = v.producer >= 0 ? g_.nodes[v.producer].label() : "a graph input";
        throw Error(ErrorCode::kUnsupported, "value " + v.describe() + " (from " + who +
                                                 ") is an integer tensor computed at run time, which the engine "
                                                 "cannot run; only shape arithmetic that folds at load time is supported");
      }
      s.size = v.numel();
      s.nhwc = v.dims.size() == 4;
    }
  }

  void count_consumers() {
    consumers_.assign(g_.values.size(), {});
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (n.folded) continue;
      for (int id : n.inputs)
        if (id >= 0 && !g_.values[id].constant) consumers_[id].push_back(static_cast<int>(i));
    }
  }

  // The single runtime consumer of v, if v has exactly one and is not kept.
  const Node* sole_consumer(int v) const {
    if (kept_[v] || consumers_[v].size() != 1) return nullptr;
    return &g_.nodes[consumers_[v][0]];
  }

  void fuse() {
    std::vector<bool> absorbed(g_.nodes.size(), false);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (n.folded || absorbed[i]) continue;
      Task t;
      t.node = &n;
      t.output = n.outputs[0];
      const std::string& op = n.op_type();
      if (op == "Conv" || op == "Gemm" || op == "MatMul") fuse_epilogue(t, static_cast<int>(i), absorbed);
      if (is_reshape_like(op)) {
        const int in = n.inputs[0];
        if (storage_is_logical(g_.values[in], plan_.slots[in]) &&
            storage_is_logical(g_.values[t.output], plan_.slots[t.output]))
          t.alias_of = in;
      }
      tasks_.push_back(t);
    }
  }

  // Folds the chain after a Conv/Gemm into its epilogue: BatchNormalization,
  // a residual Add, and one activation (HardSigmoid*x becoming hardswish).
  void fuse_epilogue(Task& t, int index, std::vector<bool>& absorbed) {
    const bool conv = t.node->op_type() == "Conv";
    auto node_index = [&](const Node* c) { return static_cast<int>(c - g_.nodes.data()); };
    for (;;) {
      const int out = t.output;
      // x * HardSigmoid(x) with alpha 1/6, beta 1/2 is HardSwish (how PyTorch exports it).
      if (t.epilogue.kind == kernels::ActKind::kNone && !kept_[out] && consumers_[out].size() == 2) {
        const Node* a = &g_.nodes[consumers_[out][0]];
        const Node* b = &g_.nodes[consumers_[out][1]];
        if (a->op_type() == "Mul") std::swap(a, b);
        if (a->op_type() == "HardSigmoid" && b->op_type() == "Mul" && sole_consumer(a->outputs[0]) == b &&
            std::fabs(a->onnx.attr_float("alpha", 0.2f) - 1.f / 6.f) < 1e-6f &&
            std::fabs(a->onnx.attr_float("beta", 0.5f) - 0.5f) < 1e-6f) {
          t.epilogue = kernels::Epilogue::hardswish();
          t.output = b->outputs[0];
          absorbed[node_index(a)] = absorbed[node_index(b)] = true;
          continue;
        }
      }
      const Node* c = sole_consumer(out);
      if (!c) return;
      const std::string& op = c->op_type();
      if (conv && op == "BatchNormalization" && !t.batchnorm && t.residual < 0 &&
          t.epilogue.kind == kernels::ActKind::kNone) {
        t.batchnorm = c;
      } else if (conv && op == "Add" && t.residual < 0 && t.epilogue.kind == kernels::ActKind::kNone) {
        const int other = c->inputs[0] == out ? c->inputs[1] : c->inputs[0];
        const Value& ov = g_.values[other];
        // The other operand must exist before the conv runs and match its shape.
        if (ov.constant || ov.dims != g_.values[out].dims || (ov.producer >= 0 && ov.producer > index)) return;
        t.residual = other;
      } else if (t.epilogue.kind == kernels::ActKind::kNone && activation_of(g_, *c, &t.epilogue)) {
      } else {
        return;
      }
      t.output = c->outputs[0];
      absorbed[node_index(c)] = true;
    }
  }

  void plan_memory() {
    const int n_values = static_cast<int>(g_.values.size());
    std::vector<int> root(n_values);
    for (int v = 0; v < n_values; ++v) root[v] = v;
    for (const Task& t : tasks_)
      if (t.alias_of >= 0) root[t.output] = root[t.alias_of];
    std::vector<int> first(n_values, INT_MAX), last(n_values, -1);
    for (int id : g_.inputs) first[root[id]] = -1;
    for (int ti = 0; ti < static_cast<int>(tasks_.size()); ++ti) {
      const Task& t = tasks_[ti];
      auto use = [&](int id) {
        if (id >= 0 && plan_.slots[id].size > 0) last[root[id]] = std::max(last[root[id]], ti);
      };
      for (int id : t.node->inputs) use(id);
      use(t.residual);
      first[root[t.output]] = std::min(first[root[t.output]], ti);
      last[root[t.output]] = std::max(last[root[t.output]], ti);
    }
    for (int v = 0; v < n_values; ++v)
      if (kept_[v]) last[root[v]] = INT_MAX;

    // Greedy best-fit over a free list, in order of definition.
    std::vector<int> order;
    for (int v = 0; v < n_values; ++v)
      if (root[v] == v && plan_.slots[v].size > 0 && first[v] != INT_MAX) order.push_back(v);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return first[a] < first[b]; });
    std::map<int64_t, int64_t> free_chunks;  // offset -> size
    std::vector<int> live;
    int64_t end = 0;
    for (int v : order) {
      // Release what died before this value's defining task.
      for (size_t k = 0; k < live.size();) {
        if (last[live[k]] < first[v]) {
          release(free_chunks, plan_.slots[live[k]].offset, plan_.slots[live[k]].size);
          live[k] = live.back();
          live.pop_back();
        } else {
          ++k;
        }
      }
      const int64_t size = plan_.slots[v].size;
      auto best = free_chunks.end();
      for (auto it = free_chunks.begin(); it != free_chunks.end(); ++it)
        if (it->second >= size && (best == free_chunks.end() || it->second < best->second)) best = it;
      if (best != free_chunks.end()) {
        plan_.slots[v].offset = best->first;
        if (best->second > size) free_chunks[best->first + size] = best->second - size;
        free_chunks.erase(best);
      } else {
        plan_.slots[v].offset = end;
        end += (size + 3) / 4 * 4;  // keep every tensor 16-byte aligned
      }
      live.push_back(v);
    }
    for (int v = 0; v < n_values; ++v)
      if (root[v] != v) plan_.slots[v].offset = plan_.slots[root[v]].offset;
    plan_.arena_floats = end;
  }

  static void release(std::map<int64_t, int64_t>& chunks, int64_t offset, int64_t size) {
    size = (size + 3) / 4 * 4;
    auto it = chunks.emplace(offset, size).first;
    auto next = std::next(it);
    if (next != chunks.end() && it->first + it->second == next->first) {
      it->second += next->second;
      chunks.erase(next);
    }
    if (it != chunks.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        chunks.erase(it);
      }
    }
  }

  void make_steps() {
    for (const Task& t : tasks_) {
      if (t.alias_of >= 0) continue;
      StepArgs a{g_, *t.node, plan_.slots, t.output, t.epilogue, t.residual, t.batchnorm};
      const std::string& op = t.node->op_type();
      std::unique_ptr<Step> step;
      if (op == "Conv")
        step = make_conv_step(a);
      else if (op == "Gemm" || op == "MatMul")
        step = make_gemm_step(a);
      else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div")
        step = make_binary_step(a);
      else if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool")
        step = make_pool_step(a);
      else if (is_reshape_like(op))
        step = make_copy_step(a);
      else if (op == "Concat")
        step = make_concat_step(a);
      else if (op == "Softmax")
        step = make_softmax_step(a);
      else if (activation_of(g_, *t.node, &a.epilogue))
        step = make_activation_step(a);
      else
        throw Error(ErrorCode::kUnsupported, t.node->label() + ": the engine has no runtime implementation of " + op +
                                                 " yet (it infers its shapes)");
      if (step->label.empty()) step->label = t.node->label();
      plan_.scratch_floats = std::max(plan_.scratch_floats, step->scratch_floats());
      plan_.steps.push_back(std::move(step));
    }
  }

  const Graph& g_;
  std::vector<bool> kept_;
  std::vector<std::vector<int>> consumers_;
  std::vector<Task> tasks_;
  Plan plan_;
};

}  // namespace

Plan build_plan(const Graph& graph, const std::vector<int>& keep) { return Planner(graph, keep).run(); }

void nchw_to_nhwc(const float* in, int n, int c, int h, int w, float* out) {
  const size_t hw = static_cast<size_t>(h) * w;
  for (int b = 0; b < n; ++b)
    for (int ch = 0; ch < c; ++ch) {
      const float* src = in + (static_cast<size_t>(b) * c + ch) * hw;
      float* dst = out + static_cast<size_t>(b) * hw * c + ch;
      for (size_t p = 0; p < hw; ++p) dst[p * c] = src[p];
    }
}

void nhwc_to_nchw(const float* in, int n, int h, int w, int c, float* out) {
  const size_t hw = static_cast<size_t>(h) * w;
  for (int b = 0; b < n; ++b)
    for (size_t p = 0; p < hw; ++p) {
      const float* src = in + (static_cast<size_t>(b) * hw + p) * c;
      float* dst = out + static_cast<size_t>(b) * c * hw + p;
      for (int ch = 0; ch < c; ++ch) dst[ch * hw] = src[ch];
    }
}

}  // namespace iciia::engine
