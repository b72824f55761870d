#include "engine/plan.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <optional>

#include "engine/steps.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

// One runtime node after fusion, with what was fused into it.
struct Task {
  const Node* node = nullptr;
  int output = -1;           // the value the task writes (after fusion, the last fused node's output)
  std::vector<int> outputs;  // every value it writes: {output}, or a Split's parts
  kernels::Epilogue epilogue;
  int residual = -1;
  const Node* batchnorm = nullptr;
  const Node* bias_add = nullptr;
  int alias_of = -1;  // reshape-like task whose output shares its input's memory
  std::vector<int> nodes;  // its node, then the nodes fused into it
};

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
      if (v.dtype != ValueDType::kFloat32) {
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
      t.nodes = {static_cast<int>(i)};
      // Every output (several for Split; the optional extra outputs of other
      // ops are rejected at inference).
      for (int id : n.outputs)
        if (id >= 0) t.outputs.push_back(id);
      if (t.outputs.empty()) throw Error(ErrorCode::kFormat, n.label() + ": no output");
      t.output = t.outputs[0];
      if (n.def->absorbs != Absorbs::kNothing) fuse_epilogue(t, static_cast<int>(i), absorbed, n.def->absorbs);
      if (t.outputs.size() == 1) t.outputs[0] = t.output;
      if (n.def->flags & kReshapeLike) {
        // Same bytes when both sides are in logical order, or when the shape
        // (and so the storage) is unchanged: Identity, Dropout, Cast.
        const int in = n.inputs[0];
        const Value &x = g_.values[in], &y = g_.values[t.output];
        const Slot &xs = plan_.slots[in], &ys = plan_.slots[t.output];
        if ((storage_is_logical(x, xs) && storage_is_logical(y, ys)) || (x.dims == y.dims && xs.nhwc == ys.nhwc))
          t.alias_of = in;
      }
      tasks_.push_back(t);
    }
  }

  // Folds the chain after a node into its epilogue. For a Conv:
  // BatchNormalization, a residual Add, an Add of a constant per-channel
  // bias, then one activation; for Gemm / MatMul: a constant bias Add, then
  // one activation; for the rest: one activation. x * HardSigmoid(x)
  // becomes hardswish and x * Sigmoid(x) SiLU.
  void fuse_epilogue(Task& t, int index, std::vector<bool>& absorbed, Absorbs kind) {
    auto node_index = [&](const Node* c) { return static_cast<int>(c - g_.nodes.data()); };
    auto absorb = [&](const Node* c) {
      absorbed[node_index(c)] = true;
      t.nodes.push_back(node_index(c));
    };
    for (;;) {
      const int out = t.output;
      if (t.epilogue.kind != kernels::ActKind::kNone) return;  // nothing folds after the activation
      if (const auto pattern = gated_activation(out)) {
        t.epilogue = pattern->epilogue;
        t.output = pattern->mul->outputs[0];
        absorb(pattern->gate);
        absorb(pattern->mul);
        continue;
      }
      const Node* c = sole_consumer(out);
      if (!c || absorbed[node_index(c)]) return;
      const FuseRole role = c->def->role;
      if (kind == Absorbs::kConvEpilogue && role == FuseRole::kBatchNorm && !t.batchnorm && t.residual < 0 &&
          !t.bias_add) {
        t.batchnorm = c;
      } else if (kind == Absorbs::kConvEpilogue && role == FuseRole::kAdd && t.residual < 0 &&
                 !constant_operand(*c, out)) {
        const int other = c->inputs[0] == out ? c->inputs[1] : c->inputs[0];
        const Value& ov = g_.values[other];
        // The other operand must exist before the conv runs and match its shape.
        if (other == out || ov.dims != g_.values[out].dims || (ov.producer >= 0 && ov.producer > index)) return;
        t.residual = other;
      } else if (kind != Absorbs::kActivation && role == FuseRole::kAdd && !t.bias_add &&
                 is_bias(*c, out, kind, *t.node)) {
        t.bias_add = c;
      } else if (c->def->activation && c->def->activation(g_, *c, &t.epilogue)) {
      } else {
        return;
      }
      t.output = c->outputs[0];
      absorb(c);
    }
  }

  struct Gated {
    const Node* gate;  // HardSigmoid or Sigmoid of x
    const Node* mul;   // x * gate(x)
    kernels::Epilogue epilogue;
  };

  // x * gate(x) (OpDef::gate: hardswish, SiLU) where those are x's only
  // two consumers.
  std::optional<Gated> gated_activation(int x) const {
    if (kept_[x] || consumers_[x].size() != 2) return std::nullopt;
    const Node* gate = &g_.nodes[consumers_[x][0]];
    const Node* mul = &g_.nodes[consumers_[x][1]];
    if (gate->def->role == FuseRole::kGateProduct) std::swap(gate, mul);
    if (mul->def->role != FuseRole::kGateProduct || !gate->def->gate || sole_consumer(gate->outputs[0]) != mul)
      return std::nullopt;
    Gated g{gate, mul, {}};
    if (!gate->def->gate(*gate, &g.epilogue)) return std::nullopt;
    return g;
  }

  // Whether one operand of binary node c (consuming `out`) is a constant.
  bool constant_operand(const Node& c, int out) const {
    for (int id : c.inputs)
      if (id != out && id >= 0 && g_.values[id].constant) return true;
    return false;
  }

  // Whether Add node c adds to `out` a constant that is one value per output
  // channel (Conv: axis 1 of NCHW; Gemm / MatMul: the last axis) or a scalar,
  // without broadcasting `out` to a larger shape.
  bool is_bias(const Node& c, int out, Absorbs kind, const Node& producer) const {
    const int other = c.inputs[0] == out ? c.inputs[1] : c.inputs[0];
    if (other == out || other < 0) return false;
    const Value& cv = g_.values[other];
    const Value& ov = g_.values[out];
    if (!cv.constant || cv.dtype != ValueDType::kFloat32 || cv.dims.size() > ov.dims.size()) return false;
    if (g_.values[c.outputs[0]].dims != ov.dims) return false;
    if (kind == Absorbs::kGemmEpilogue && g_.values[producer.inputs[1]].dims.size() < 2)
      return false;  // a matrix-vector product has no column axis
    const size_t channel_axis = kind == Absorbs::kConvEpilogue ? 1 : ov.dims.size() - 1;
    const size_t off = ov.dims.size() - cv.dims.size();
    for (size_t i = 0; i < cv.dims.size(); ++i)
      if (cv.dims[i] != 1 && (i + off != channel_axis || cv.dims[i] != ov.dims[channel_axis])) return false;
    return true;
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
      for (int id : t.outputs) {
        first[root[id]] = std::min(first[root[id]], ti);
        last[root[id]] = std::max(last[root[id]], ti);
      }
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
      const OpDef& def = *t.node->def;
      if (!def.make_step)
        throw Error(ErrorCode::kUnsupported,
                    t.node->label() + ": the engine has no runtime implementation of " + t.node->op_type());
      StepArgs a{g_, *t.node, plan_.slots, t.output, t.epilogue, t.residual, t.batchnorm, t.bias_add, t.outputs};
      std::unique_ptr<Step> step = def.make_step(a);
      if (step->label.empty()) step->label = t.node->label();
      if (def.macs_per_output)
        step->macs = g_.values[t.node->outputs[0]].numel() * def.macs_per_output(g_, *t.node);
      step->nodes = t.nodes;
      plan_.scratch_floats = std::max(plan_.scratch_floats, step->scratch_floats());
      plan_.shared_scratch_floats = std::max(plan_.shared_scratch_floats, step->shared_scratch_floats());
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
