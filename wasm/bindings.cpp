// Embind bindings of the engine and the ICIIA session (recognizer_bindings.cpp binds the
// recognizer; idb_backend.cpp and idb_records.js are the IndexedDB side): wasm/ is where C++
// meets JavaScript, src/ never does.
//
// Every call into the core goes through guard() (js_interop.h). Objects handed to JavaScript are
// small wrappers that own their C++ state; JavaScript frees them with
// .delete() (the web package's dispose()).
#include <emscripten/bind.h>
#include <emscripten/heap.h>
#include <malloc.h>
#include <emscripten/val.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "iciia/model.h"
#include "iciia/session.h"
#include "kernels/vec.h"
#include "safetensors/safetensors.h"
#include "util/error.h"
#include "js_interop.h"

using emscripten::val;
using iciia::wasm::copy_in;
using iciia::wasm::copy_out;
using iciia::wasm::guard;

namespace {

class Model {
 public:
  explicit Model(std::shared_ptr<const iciia::IciiaModel> m) : model(std::move(m)) {}

  static Model* from_bytes(const val& bytes) {
    return guard([&] {
      const auto data = copy_in<uint8_t>(bytes, "Model.fromBytes");
      return new Model(iciia::IciiaModel::load(data));
    });
  }

  val config() const {
    const auto& c = model->config();
    val o = val::object();
    o.set("dim", c.dim);
    o.set("numClasses", c.num_classes);
    o.set("numHeads", c.num_heads);
    o.set("numLayers", c.num_layers);
    o.set("numPartitions", c.num_partitions);
    o.set("shuffle", c.shuffle);
    o.set("attention", std::string(iciia::attention_mode_name(c.attention)));
    o.set("workDim", c.work_dim());
    return o;
  }

  // x: S * dim values; returns S * numClasses logits.
  val forward(const val& x, int seq_len) const {
    return guard([&] {
      const auto in = copy_in<float>(x, "Model.forward");
      std::vector<float> out(static_cast<size_t>(std::max(seq_len, 0)) * model->config().num_classes);
      model->forward(in, seq_len, out);
      return copy_out(out);
    });
  }

  std::shared_ptr<const iciia::IciiaModel> model;
};

class Session {
 public:
  Session(const Model& model, int capacity)
      : session(guard([&] { return iciia::IciiaSession(model.model, {capacity}); })) {}

  void append(const val& feature) {
    guard([&] { session.append(copy_in<float>(feature, "Session.append")); });
  }

  val query(const val& feature, bool attention, bool append) {
    return guard([&] { return result(session.query(copy_in<float>(feature, "Session.query"), {attention, append})); });
  }

  val query_recompute(const val& feature, bool attention) {
    return guard([&] {
      return result(session.query_recompute(copy_in<float>(feature, "Session.queryRecompute"), {attention, false}));
    });
  }

  void clear() { session.clear(); }
  int size() const { return session.size(); }
  int capacity() const { return session.capacity(); }
  bool cached() const { return session.cached(); }

 private:
  static val result(const iciia::QueryResult& r) {
    val o = val::object();
    o.set("logits", copy_out(r.logits));
    o.set("attention", copy_out(r.attention));
    return o;
  }
  iciia::IciiaSession session;
};

// { metadata: {k: v}, tensors: {name: {dtype, shape, data: Float32Array}} };
// float tensors only (others are listed without data).
val read_safetensors(const val& bytes) {
  return guard([&] {
    const auto file = iciia::Safetensors::parse(copy_in<uint8_t>(bytes, "readSafetensors"));
    val meta = val::object();
    for (const auto& [k, v] : file.metadata()) meta.set(k, v);
    val tensors = val::object();
    for (const auto& t : file.tensors()) {
      val o = val::object();
      o.set("dtype", std::string(iciia::dtype_name(t.dtype)));
      val shape = val::array();
      for (auto d : t.shape) shape.call<void>("push", static_cast<double>(d));
      o.set("shape", shape);
      if (t.dtype == iciia::SafetensorsDType::kF32 || t.dtype == iciia::SafetensorsDType::kF16 || t.dtype == iciia::SafetensorsDType::kBF16 ||
          t.dtype == iciia::SafetensorsDType::kF64)
        o.set("data", copy_out(file.to_f32(t)));
      tensors.set(t.name, o);
    }
    val out = val::object();
    out.set("metadata", meta);
    out.set("tensors", tensors);
    return out;
  });
}

// The backbone engine. options: { inputDims?: number[], tensors?: string[],
// threads?: number (more than 1 needs the threads build) }.
class Backbone {
 public:
  static Backbone* from_bytes(const val& bytes, const val& options) {
    return guard([&] {
      iciia::engine::EngineOptions o;
      if (!options.isUndefined() && !options.isNull()) {
        if (!options["inputDims"].isUndefined())
          for (double d : emscripten::vecFromJSArray<double>(options["inputDims"]))
            o.input_dims.push_back(static_cast<int64_t>(d));
        if (!options["tensors"].isUndefined()) o.tensors = emscripten::vecFromJSArray<std::string>(options["tensors"]);
        if (!options["threads"].isUndefined()) o.threads = options["threads"].as<int>();
      }
      const auto data = copy_in<uint8_t>(bytes, "Backbone.fromBytes");
      return new Backbone(iciia::engine::Engine::load(data, o));
    });
  }

  // Runs on an NCHW Float32Array; values are then read with read(name).
  void run(const val& input) {
    guard([&] { engine.run(copy_in<float>(input, "Backbone.run")); });
  }
  val read(const std::string& name) const {
    return guard([&] { return copy_out(engine.read(name)); });
  }
  val dims(const std::string& name) const {
    return guard([&] {
      val out = val::array();
      for (auto d : engine.dims(name)) out.call<void>("push", static_cast<double>(d));
      return out;
    });
  }
  val info() const {
    val o = val::object();
    o.set("inputName", engine.input_name());
    val in = val::array();
    for (auto d : engine.input_dims()) in.call<void>("push", static_cast<double>(d));
    o.set("inputDims", in);
    val names = val::array();
    for (const auto& n : engine.readable()) names.call<void>("push", n);
    o.set("readable", names);
    o.set("macs", static_cast<double>(engine.stats().macs));
    o.set("steps", static_cast<double>(engine.plan().steps.size()));
    o.set("arenaBytes", static_cast<double>(engine.arena_bytes()));
    o.set("threads", engine.threads());
    return o;
  }
  // [{label, kind, macs, ms}] of one run.
  val run_profiled(const val& input) {
    return guard([&] {
      val out = val::array();
      for (const auto& t : engine.run_profiled(copy_in<float>(input, "Backbone.runProfiled"))) {
        val o = val::object();
        o.set("label", t.label);
        o.set("kind", t.kind);
        o.set("macs", static_cast<double>(t.macs));
        o.set("ms", t.ms);
        out.call<void>("push", o);
      }
      return out;
    });
  }

 private:
  explicit Backbone(iciia::engine::Engine e) : engine(std::move(e)) {}
  iciia::engine::Engine engine;
};

std::string simd_isa() { return ICIIA_VEC_ISA; }

// {heapBytes, usedBytes}: the wasm memory and what malloc has handed out of
// it — what a leak test watches (the memory itself never shrinks).
val heap_stats() {
  const struct mallinfo info = mallinfo();
  val o = val::object();
  o.set("heapBytes", static_cast<double>(emscripten_get_heap_size()));
  o.set("usedBytes", static_cast<double>(info.uordblks));
  return o;
}

}  // namespace

EMSCRIPTEN_BINDINGS(iciia_core) {
  emscripten::class_<Model>("Model")
      .class_function("fromBytes", &Model::from_bytes, emscripten::allow_raw_pointers())
      .function("config", &Model::config)
      .function("forward", &Model::forward);
  emscripten::class_<Session>("Session")
      .constructor<const Model&, int>()
      .function("append", &Session::append)
      .function("query", &Session::query)
      .function("queryRecompute", &Session::query_recompute)
      .function("clear", &Session::clear)
      .function("size", &Session::size)
      .function("capacity", &Session::capacity)
      .function("cached", &Session::cached);
  emscripten::class_<Backbone>("Backbone")
      .class_function("fromBytes", &Backbone::from_bytes, emscripten::allow_raw_pointers())
      .function("run", &Backbone::run)
      .function("read", &Backbone::read)
      .function("dims", &Backbone::dims)
      .function("info", &Backbone::info)
      .function("runProfiled", &Backbone::run_profiled);
  emscripten::function("readSafetensors", &read_safetensors);
  emscripten::function("simdIsa", &simd_isa);
  emscripten::function("heapStats", &heap_stats);
}
