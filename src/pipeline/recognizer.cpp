#include "pipeline/recognizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "util/error.h"

namespace iciia {
namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void mismatch(const std::string& what) { throw Error(ErrorCode::kShape, "bundle: " + what); }

void check_finite(std::span<const float> v, const char* what) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw Error(ErrorCode::kInvalidArgument, std::string(what) + "[" + std::to_string(i) + "] is not finite");
}

}  // namespace

std::vector<Ranked> top_k(std::span<const float> logits, int k) {
  const int n = static_cast<int>(logits.size());
  k = std::clamp(k, 0, n);
  const float mx = n ? *std::max_element(logits.begin(), logits.end()) : 0.f;
  double sum = 0;
  for (float v : logits) sum += std::exp(double(v) - mx);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  std::vector<Ranked> out;
  for (int i = 0; i < k; ++i)
    out.push_back({order[i], static_cast<float>(std::exp(double(logits[order[i]]) - mx) / sum)});
  return out;
}

Recognizer::Recognizer(const BundleManifest& manifest, std::span<const uint8_t> backbone,
                       std::span<const uint8_t> iciia, std::shared_ptr<RecordBackend> storage,
                       const RecognizerOptions& options, Warn warn)
    : manifest_(manifest) {
  if (!manifest.iciia)
    throw Error(ErrorCode::kUnsupported, "bundle '" + manifest.name + "' has no ICIIA weights; this recognizer needs them");
  const Fingerprint fingerprint = verify_bundle(manifest, backbone, iciia);
  model_ = IciiaModel::load(iciia);
  const IciiaConfig& cfg = model_->config();
  const int C = static_cast<int>(manifest.labels.size());
  if (cfg.num_classes != C)
    mismatch(manifest.iciia->file + " has " + std::to_string(cfg.num_classes) + " classes, the manifest lists " +
             std::to_string(C) + " labels");

  engine::EngineOptions eo = options.engine;
  const PreprocessSpec& p = manifest.preprocess;
  eo.input_dims = {1, p.channels, p.height, p.width};
  eo.tensors = {manifest.features, manifest.logits};
  engine_.emplace(engine::Engine::load(backbone, eo));
  if (engine_->input_name() != manifest.input)
    mismatch(manifest.backbone.file + " input is '" + engine_->input_name() + "', the manifest says '" +
             manifest.input + "'");
  auto numel = [&](const std::string& name) {
    int64_t n = 1;
    for (int64_t d : engine_->dims(name)) n *= d;
    return n;
  };
  if (numel(manifest.features) != cfg.dim)
    mismatch("backbone tensor '" + manifest.features + "' has " + std::to_string(numel(manifest.features)) +
             " values, " + manifest.iciia->file + " expects " + std::to_string(cfg.dim) + " features");
  if (numel(manifest.logits) != C)
    mismatch("backbone tensor '" + manifest.logits + "' has " + std::to_string(numel(manifest.logits)) +
             " values, the manifest lists " + std::to_string(C) + " labels");

  const int capacity = options.history_capacity > 0 ? options.history_capacity : manifest.history_capacity;
  if (capacity > kMaxHistoryCapacity)
    throw Error(ErrorCode::kInvalidArgument, "history capacity " + std::to_string(capacity) + " exceeds " +
                                                 std::to_string(kMaxHistoryCapacity));
  session_ = std::make_unique<IciiaSession>(model_, SessionOptions{capacity});
  store_ = std::make_unique<HistoryStore>(std::move(storage), fingerprint, cfg.dim, capacity,
                                          static_cast<HistoryObserver*>(this), std::move(warn));
}

Recognizer::~Recognizer() = default;

std::vector<float> Recognizer::preprocess(const ImageView& image) const {
  return iciia::preprocess(image, manifest_.preprocess);
}

Analysis Recognizer::analyze(const ImageView& image) {
  Analysis a;
  const double t0 = now_ms();
  const std::vector<float> input = preprocess(image);
  const double t1 = now_ms();
  engine_->run(input);
  a.features = engine_->read(manifest_.features);
  a.logits = engine_->read(manifest_.logits);
  a.preprocess_ms = t1 - t0;
  a.backbone_ms = now_ms() - t1;
  return a;
}

Analysis Recognizer::from_features(std::vector<float> features, std::vector<float> logits) const {
  if (features.size() != size_t(feature_dim()))
    throw Error(ErrorCode::kInvalidArgument, "expected " + std::to_string(feature_dim()) + " features, got " +
                                                 std::to_string(features.size()));
  if (logits.size() != size_t(num_classes()))
    throw Error(ErrorCode::kInvalidArgument, "expected " + std::to_string(num_classes()) + " backbone logits, got " +
                                                 std::to_string(logits.size()));
  check_finite(features, "features");
  check_finite(logits, "logits");
  Analysis a;
  a.features = std::move(features);
  a.logits = std::move(logits);
  return a;
}

void Recognizer::recognize(Analysis analysis, const RecognizeOptions& options,
                           std::function<void(StoreStatus, Recognition)> done) {
  if (options.top_k < 1)
    throw Error(ErrorCode::kInvalidArgument, "topK must be at least 1, got " + std::to_string(options.top_k));
  check_finite(analysis.features, "features");
  const double t0 = now_ms();
  // Sync first: another tab may have appended since, and the answer should
  // use its records too.
  store_->sync([this, analysis = std::move(analysis), options, t0, done = std::move(done)](StoreStatus st) mutable {
    if (!st.ok()) return done(st, {});
    Recognition r;
    const double t1 = now_ms();
    QueryResult q = session_->query(analysis.features, {.attention = true, .append = false});
    r.iciia_ms = now_ms() - t1;
    r.top = top_k(q.logits, options.top_k);
    r.baseline = top_k(analysis.logits, options.top_k);
    r.attention = std::move(q.attention);
    for (const HistoryRecord& rec : store_->records()) r.attention_seq.push_back(rec.seq);
    if (!options.remember) {
      r.history_size = session_->size();
      r.store_ms = now_ms() - t0 - r.iciia_ms;
      return done({}, std::move(r));
    }
    store_->append(std::move(analysis.features), options.timestamp_ms,
                   [this, r = std::move(r), t0, done = std::move(done)](StoreStatus st2) mutable {
                     if (!st2.ok()) return done(st2, {});
                     r.seq = store_->records().back().seq;
                     r.history_size = session_->size();
                     r.store_ms = now_ms() - t0 - r.iciia_ms;
                     done({}, std::move(r));
                   });
  });
}

void Recognizer::history_appended(const HistoryRecord& record) { session_->append(record.features); }

void Recognizer::history_reset(const std::deque<HistoryRecord>& records) {
  session_->clear();
  std::vector<float> rows;
  for (const HistoryRecord& r : records) rows.insert(rows.end(), r.features.begin(), r.features.end());
  session_->append_rows(rows);  // the k/v cache in multi-row passes
}

}  // namespace iciia
