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

std::string hex(const iciia::Fingerprint& f) { return iciia::to_hex(f); }

val adaptation_names(const std::vector<iciia::Adaptation>& modes) {
  val out = val::array();
  for (iciia::Adaptation a : modes) out.call<void>("push", std::string(iciia::adaptation_name(a)));
  return out;
}

iciia::Adaptation parse_adaptation(const std::string& name) {
  const auto a = iciia::adaptation_from_name(name);
  if (!a)
    throw iciia::Error(iciia::ErrorCode::kInvalidArgument,
                       "adaptation must be 'iciia', 'prior' or 'none', got '" + name + "'");
  return *a;
}

class Recognizer {
 public:
  // files: {manifest: string, backbone: Uint8Array, iciia?: Uint8Array (absent
  // for a backbone-only bundle)}; options: {database, clientId,
  // historyCapacity, adaptation ('' = the manifest's), priorAlpha (< 0: the
  // default, 0.3 / C), shiftLevel (< 0: the default, 0.99; 0: the gate is
  // off), durability ('strict' or 'relaxed', the IndexedDB
  // hint of commits), threads (the backbone's, 1 unless this is the threads
  // build), onWarning(message)}.
  static Recognizer* create(const val& files, const val& options) {
    return guard([&] {
      const iciia::BundleManifest manifest = iciia::parse_manifest(files["manifest"].as<std::string>());
      const auto backbone = copy_in<uint8_t>(files["backbone"], "bundle backbone");
      const val weights_js = files["iciia"];
      const auto weights = weights_js.isUndefined() || weights_js.isNull() ? std::vector<uint8_t>{}
                                                                           : copy_in<uint8_t>(weights_js, "bundle iciia");
      iciia::RecognizerOptions ro;
      ro.history_capacity = option<int>(options, "historyCapacity", 0);
      ro.engine.threads = option<int>(options, "threads", 1);
      const std::string mode = option<std::string>(options, "adaptation", "");
      if (!mode.empty()) ro.adaptation = parse_adaptation(mode);
      const double alpha = option<double>(options, "priorAlpha", -1);
      if (alpha >= 0) ro.prior_alpha = alpha;
      const double level = option<double>(options, "shiftLevel", -1);
      if (level >= 0) ro.shift_level = level;
      auto storage = std::make_shared<iciia::wasm::IdbBackend>(option<std::string>(options, "database", "iciia-web"),
                                                               option<std::string>(options, "clientId", ""),
                                                               option<std::string>(options, "durability", "strict") != "relaxed");
      val on_warning = options["onWarning"];
      iciia::Warn warn = [on_warning](const std::string& m) {
        if (on_warning.typeOf().as<std::string>() == "function") on_warning(m);
      };
      return new Recognizer(std::make_unique<iciia::Recognizer>(manifest, backbone, weights, storage, ro, warn));
    });
  }

  val info() const {
    val o = val::object();
    o.set("fingerprint", hex(r_->fingerprint()));
    o.set("historyFingerprint", hex(r_->history_tags().backbone));
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
    o.set("adaptation", std::string(iciia::adaptation_name(r_->adaptation())));
    o.set("adaptations", adaptation_names(r_->adaptations()));
    o.set("priorAlpha", r_->prior_alpha());
    o.set("shiftLevel", r_->shift_level());
    o.set("threads", r_->threads());
    if (r_->has_iciia()) {
      o.set("attention", std::string(iciia::attention_mode_name(r_->iciia()->config().attention)));
      o.set("cached", r_->session()->cached());
    }
    return o;
  }

  val preprocess(const val& pixels, int width, int height, int channels) const {
    return guard([&] {
      val out = copy_out(r_->preprocess(view(pixels, width, height, channels)));
      release_pixels();
      return out;
    });
  }

  // Pixels → {features, logits, preprocess ms, backbone ms}: the part of
  // recognize() that needs no history, run before taking the history's lock.
  val analyze(const val& pixels, int width, int height, int channels) {
    return guard([&] {
      const iciia::Analysis a = r_->analyze(view(pixels, width, height, channels));
      release_pixels();
      val o = val::object();
      o.set("features", copy_out(a.features));
      o.set("logits", copy_out(a.logits));
      o.set("preprocess", a.preprocess_ms);
      o.set("backbone", a.backbone_ms);
      return o;
    });
  }

  // answered(error, result) once the answer is computed; with remember,
  // committed(error, seq) once its record is durable (or failed), after it.
  void recognize(const val& features, const val& logits, const val& options, val answered, val committed) {
    guard([&] {
      iciia::Analysis a = r_->from_features(copy_in<float>(features, "features"), copy_in<float>(logits, "logits"));
      iciia::RecognizeOptions ro;
      ro.remember = option<bool>(options, "remember", true);
      ro.top_k = option<int>(options, "topK", 5);
      ro.timestamp_ms = option<double>(options, "timestamp", 0);
      auto seq = std::make_shared<uint64_t>(0);
      r_->recognize(
          std::move(a), ro,
          [answered, seq](iciia::StoreStatus st, iciia::Recognition rec) {
            if (!st.ok()) return finish(answered, st, val::undefined());
            if (rec.seq) *seq = *rec.seq;
            finish(answered, st, recognition(rec));
          },
          [committed, seq](iciia::StoreStatus st) { finish(committed, st, val(double(*seq))); });
    });
  }

  void set_adaptation(const std::string& name) { guard([&] { r_->set_adaptation(parse_adaptation(name)); }); }

  // Whether this recognizer holds the client's cross-tab lock and has synced
  // under it (then its history in memory is current: no head read needed).
  void hold(bool held) { r_->history().set_exclusive(held); }

  void sync(val callback) {
    guard([&] { r_->sync([callback](iciia::StoreStatus st) { finish(callback, st, val::undefined()); }); });
  }

  void drain(val callback) {
    guard([&] { r_->history().drain([callback](iciia::StoreStatus st) { finish(callback, st, val::undefined()); }); });
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
        finish(callback, st, copy_out(iciia::export_history(r_->history().records(), r_->history_tags().backbone)));
      });
    });
  }

  // Strict parse (throws synchronously on a bad export), then one transaction.
  void import_history(const val& bytes, val callback) {
    guard([&] {
      auto records = iciia::parse_history_export(copy_in<uint8_t>(bytes, "history import"), r_->history_tags(),
                                                 uint32_t(r_->feature_dim()), uint32_t(r_->num_classes()),
                                                 iciia::kMaxHistoryCapacity);
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

  void release_pixels() const {
    pixels_.clear();
    pixels_.shrink_to_fit();
  }

  static void finish(const val& callback, const iciia::StoreStatus& st, const val& result) {
    if (st.ok())
      callback(val::null(), result);
    else
      callback(storage_error(st), val::undefined());
  }

  static val recognition(const iciia::Recognition& rec) {
    val o = val::object();
    o.set("adaptation", std::string(iciia::adaptation_name(rec.adaptation)));
    o.set("top", ranked(rec.top));
    o.set("baseline", ranked(rec.baseline));
    o.set("attention", copy_out(rec.attention));
    // One typed array, not a push per record: each call into JavaScript
    // costs a microsecond or more, and a full history has a thousand records.
    // Doubles, as seqs are everywhere in JavaScript (IndexedDB keys, r.seq).
    const std::vector<double> seqs(rec.attention_seq.begin(), rec.attention_seq.end());
    o.set("attentionSeq", copy_out(seqs));
    if (rec.adaptation == iciia::Adaptation::kPrior) {
      o.set("prior", copy_out(rec.prior));
      o.set("priorIterations", rec.prior_iterations);
    }
    if (rec.shift_threshold > 0) {
      val shift = val::object();
      shift.set("statistic", rec.shift_statistic);
      shift.set("threshold", rec.shift_threshold);
      o.set("shift", shift);
    }
    o.set("seq", rec.seq ? val(double(*rec.seq)) : val::undefined());
    o.set("historySize", rec.history_size);
    o.set("sync", rec.sync_ms);
    o.set("adapt", rec.adapt_ms);
    return o;
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
      .function("analyze", &Recognizer::analyze)
      .function("recognize", &Recognizer::recognize)
      .function("setAdaptation", &Recognizer::set_adaptation)
      .function("hold", &Recognizer::hold)
      .function("sync", &Recognizer::sync)
      .function("drain", &Recognizer::drain)
      .function("historySize", &Recognizer::history_size)
      .function("clear", &Recognizer::clear)
      .function("exportHistory", &Recognizer::export_history)
      .function("importHistory", &Recognizer::import_history);
}
