// Embind surface of the recognizer (web/src/recognizer.ts is its only user).
//
// Asynchronous operations take a JS callback(error, result): error is null or
// {code, message, quota}, where code is "StorageError" for IndexedDB failures
// (quota: true when the disk is full) or an ErrorCode name. Argument errors
// are thrown synchronously, typed like every other binding's.
#include <emscripten/bind.h>

#include <cstdio>
#include <memory>

#include "idb_backend.h"
#include "js_interop.h"
#include "pipeline/recognizer.h"
#include "util/sha256.h"

using emscripten::val;
using iciia::wasm::copy_in;
using iciia::wasm::copy_out;
using iciia::wasm::guard;

namespace {

val ranked(const std::vector<iciia::Ranked>& r) {
  val out = val::array();
  for (const auto& x : r) {
    val o = val::object();
    o.set("index", x.index);
    o.set("score", x.score);
    out.call<void>("push", o);
  }
  return out;
}

val storage_error(const iciia::StoreStatus& st) {
  val e = val::object();
  e.set("code", std::string("StorageError"));
  e.set("quota", st.kind == iciia::StoreStatus::Kind::kQuota);
  e.set("message", st.message);
  return e;
}

template <typename T>
T option(const val& options, const char* key, T fallback) {
  if (options.isUndefined() || options.isNull()) return fallback;
  const val v = options[key];
  return v.isUndefined() || v.isNull() ? fallback : v.as<T>();
}

class Recognizer {
 public:
  // files: {manifest: string, backbone: Uint8Array, iciia: Uint8Array};
  // options: {database, clientId, historyCapacity, onWarning(message)}.
  static Recognizer* create(const val& files, const val& options) {
    return guard([&] {
      const iciia::BundleManifest manifest = iciia::parse_manifest(files["manifest"].as<std::string>());
      const auto backbone = copy_in<uint8_t>(files["backbone"], "bundle backbone");
      const auto weights = copy_in<uint8_t>(files["iciia"], "bundle iciia");
      iciia::RecognizerOptions ro;
      ro.history_capacity = option<int>(options, "historyCapacity", 0);
      auto storage = std::make_shared<iciia::wasm::IdbBackend>(option<std::string>(options, "database", "iciia-web"),
                                                               option<std::string>(options, "clientId", ""));
      val on_warning = options["onWarning"];
      iciia::Warn warn = [on_warning](const std::string& m) {
        if (on_warning.typeOf().as<std::string>() == "function") on_warning(m);
      };
      return new Recognizer(std::make_unique<iciia::Recognizer>(manifest, backbone, weights, storage, ro, warn));
    });
  }

  val info() const {
    val o = val::object();
    o.set("fingerprint", iciia::to_hex(r_->fingerprint()));
    o.set("dim", r_->feature_dim());
    o.set("numClasses", r_->num_classes());
    o.set("capacity", r_->history().capacity());
    const auto& m = r_->manifest();
    o.set("name", m.name);
    val labels = val::array();
    for (const auto& l : m.labels) labels.call<void>("push", l);
    o.set("labels", labels);
    val size = val::array();
    size.call<void>("push", m.preprocess.height);
    size.call<void>("push", m.preprocess.width);
    o.set("inputSize", size);
    o.set("inputChannels", m.preprocess.channels);
    o.set("attention", std::string(iciia::attention_mode_name(r_->iciia().config().attention)));
    o.set("cached", r_->session().cached());
    return o;
  }

  val preprocess(const val& pixels, int width, int height, int channels) const {
    return guard([&] { return copy_out(r_->preprocess(view(pixels, width, height, channels))); });
  }

  void recognize_image(const val& pixels, int width, int height, int channels, const val& options, val callback) {
    guard([&] {
      iciia::Analysis a = r_->analyze(view(pixels, width, height, channels));
      recognize(std::move(a), options, std::move(callback));
    });
  }

  void recognize_features(const val& features, const val& logits, const val& options, val callback) {
    guard([&] {
      iciia::Analysis a = r_->from_features(copy_in<float>(features, "features"), copy_in<float>(logits, "logits"));
      recognize(std::move(a), options, std::move(callback));
    });
  }

  void sync(val callback) {
    guard([&] { r_->sync([callback](iciia::StoreStatus st) { finish(callback, st, val::undefined()); }); });
  }

  int history_size() const { return static_cast<int>(r_->history().records().size()); }

  void clear(val callback) {
    guard([&] { r_->history().clear([callback](iciia::StoreStatus st) { finish(callback, st, val::undefined()); }); });
  }

  // Syncs, then hands back the export bytes (format: store/history_store.h).
  void export_history(val callback) {
    guard([&] {
      r_->sync([this, callback](iciia::StoreStatus st) {
        if (!st.ok()) return finish(callback, st, val::undefined());
        finish(callback, st, copy_out(iciia::export_history(r_->history().records(), r_->fingerprint())));
      });
    });
  }

  // Strict parse (throws synchronously on a bad export), then one transaction.
  void import_history(const val& bytes, val callback) {
    guard([&] {
      auto records = iciia::parse_history_export(copy_in<uint8_t>(bytes, "history import"), r_->fingerprint(),
                                                 uint32_t(r_->feature_dim()), iciia::kMaxHistoryCapacity);
      const int n = static_cast<int>(records.size());
      r_->history().import(std::move(records),
                           [callback, n](iciia::StoreStatus st) { finish(callback, st, val(n)); });
    });
  }

 private:
  explicit Recognizer(std::unique_ptr<iciia::Recognizer> r) : r_(std::move(r)) {}

  // The pixels stay in wasm memory only for the synchronous analysis.
  iciia::ImageView view(const val& pixels, int width, int height, int channels) const {
    pixels_ = copy_in<uint8_t>(pixels, "image pixels");
    iciia::ImageView v{pixels_.data(), width, height, channels};
    iciia::check_image(v, pixels_.size());
    return v;
  }

  static void finish(const val& callback, const iciia::StoreStatus& st, const val& result) {
    if (st.ok())
      callback(val::null(), result);
    else
      callback(storage_error(st), val::undefined());
  }

  void recognize(iciia::Analysis a, const val& options, val callback) {
    iciia::RecognizeOptions ro;
    ro.remember = option<bool>(options, "remember", true);
    ro.top_k = option<int>(options, "topK", 5);
    ro.timestamp_ms = option<double>(options, "timestamp", 0);
    const double pre = a.preprocess_ms, bb = a.backbone_ms;
    pixels_.clear();
    pixels_.shrink_to_fit();
    r_->recognize(std::move(a), ro, [callback, pre, bb](iciia::StoreStatus st, iciia::Recognition rec) {
      if (!st.ok()) return finish(callback, st, val::undefined());
      val o = val::object();
      o.set("top", ranked(rec.top));
      o.set("baseline", ranked(rec.baseline));
      o.set("attention", copy_out(rec.attention));
      val seqs = val::array();
      for (uint64_t s : rec.attention_seq) seqs.call<void>("push", double(s));
      o.set("attentionSeq", seqs);
      o.set("seq", rec.seq ? val(double(*rec.seq)) : val::undefined());
      o.set("historySize", rec.history_size);
      val t = val::object();
      t.set("preprocess", pre);
      t.set("backbone", bb);
      t.set("iciia", rec.iciia_ms);
      t.set("store", rec.store_ms);
      o.set("timings", t);
      finish(callback, st, o);
    });
  }

  std::unique_ptr<iciia::Recognizer> r_;
  mutable std::vector<uint8_t> pixels_;
};

}  // namespace

EMSCRIPTEN_BINDINGS(iciia_recognizer) {
  emscripten::class_<Recognizer>("Recognizer")
      .class_function("create", &Recognizer::create, emscripten::allow_raw_pointers())
      .function("info", &Recognizer::info)
      .function("preprocess", &Recognizer::preprocess)
      .function("recognizeImage", &Recognizer::recognize_image)
      .function("recognizeFeatures", &Recognizer::recognize_features)
      .function("sync", &Recognizer::sync)
      .function("historySize", &Recognizer::history_size)
      .function("clear", &Recognizer::clear)
      .function("exportHistory", &Recognizer::export_history)
      .function("importHistory", &Recognizer::import_history);
}
