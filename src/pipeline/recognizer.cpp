#include "pipeline/recognizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "adapt/prior_correction.h"
#include "adapt/shift_gate.h"
#include "kernels/ops.h"
#include "kernels/parallel.h"
#include "util/error.h"

namespace iciia {
namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Share of the source prior in EM's warm start (see Recognizer::adapt).
constexpr double kWarmStartMix = 1e-3;

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

std::vector<Ranked> top_k_probabilities(std::span<const float> probs, int k) {
  const int n = static_cast<int>(probs.size());
  k = std::clamp(k, 0, n);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); });
  std::vector<Ranked> out;
  for (int i = 0; i < k; ++i) out.push_back({order[i], probs[order[i]]});
  return out;
}

void Recognizer::PosteriorRows::append(std::span<const float> logits) {
  // The newest row goes to slot `size` until the ring is full, then over the
  // oldest; rows [0, size) are always the history (in rotated order, which
  // EM does not care about) and slot `size` is free for a target.
  const int slot = size < capacity ? size : head;
  float* row = rows.data() + size_t(slot) * size_t(classes);
  if (logits.empty()) {
    std::fill(row, row + classes, 0.f);  // no posterior known: EM skips an all-zero row
  } else {
    std::copy(logits.begin(), logits.end(), row);
    kernels::softmax(row, classes);
  }
  if (size < capacity)
    ++size;
  else
    head = (head + 1) % capacity;
}

Recognizer::Recognizer(const BundleManifest& manifest, std::span<const uint8_t> backbone,
                       std::span<const uint8_t> iciia, std::shared_ptr<RecordBackend> storage,
                       const RecognizerOptions& options, Warn warn)
    : manifest_(manifest), warn_(warn) {
  fingerprint_ = verify_bundle(manifest, backbone, iciia);
  const int C = num_classes();
  prior_alpha_ = options.prior_alpha.value_or(kDefaultPriorPseudoImages / C);
  if (!(prior_alpha_ >= 0) || !std::isfinite(prior_alpha_))
    throw Error(ErrorCode::kInvalidArgument, "prior correction: alpha must be a finite number >= 0, got " +
                                                 std::to_string(prior_alpha_));
  shift_level_ = options.shift_level.value_or(adapt::kDefaultShiftLevel);
  if (!(shift_level_ >= 0 && shift_level_ < 1))
    throw Error(ErrorCode::kInvalidArgument, "shift gate: the level must be 0 (always adapt) or in (0, 1), got " +
                                                 std::to_string(shift_level_));
  // One class leaves nothing to shift.
  if (shift_level_ > 0 && C > 1) shift_threshold_ = adapt::chi_square_quantile(C - 1, shift_level_);
  if (manifest.iciia) {
    model_ = IciiaModel::load(iciia);
    if (model_->config().num_classes != C)
      mismatch(manifest.iciia->file + " has " + std::to_string(model_->config().num_classes) +
               " classes, the manifest lists " + std::to_string(C) + " labels");
  }

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
  const int64_t features = numel(manifest.features);
  if (model_ && features != model_->config().dim)
    mismatch("backbone tensor '" + manifest.features + "' has " + std::to_string(features) + " values, " +
             manifest.iciia->file + " expects " + std::to_string(model_->config().dim) + " features");
  if (features < 1 || features > int64_t(kMaxRecordDim))
    mismatch("backbone tensor '" + manifest.features + "' has " + std::to_string(features) +
             " values, a history record holds 1 to " + std::to_string(kMaxRecordDim));
  dim_ = static_cast<int>(features);
  if (numel(manifest.logits) != C)
    mismatch("backbone tensor '" + manifest.logits + "' has " + std::to_string(numel(manifest.logits)) +
             " values, the manifest lists " + std::to_string(C) + " labels");

  const int capacity = options.history_capacity > 0 ? options.history_capacity : manifest.history_capacity;
  if (capacity > kMaxHistoryCapacity)
    throw Error(ErrorCode::kInvalidArgument, "history capacity " + std::to_string(capacity) + " exceeds " +
                                                 std::to_string(kMaxHistoryCapacity));
  adaptation_ = options.adaptation.value_or(manifest.default_adaptation());
  set_adaptation(adaptation_);  // checks it is available
  if (model_) session_ = std::make_unique<IciiaSession>(model_, SessionOptions{capacity});
  session_current_ = model_ && adaptation_ == Adaptation::kIciia;
  posteriors_.classes = C;
  posteriors_.capacity = capacity;
  posteriors_.rows.assign(size_t(capacity + 1) * size_t(C), 0.f);
  store_ = std::make_unique<HistoryStore>(std::move(storage), HistoryTags{backbone_fingerprint(manifest), fingerprint_},
                                          dim_, C, capacity, static_cast<HistoryObserver*>(this), std::move(warn));
}

Recognizer::~Recognizer() = default;

std::vector<Adaptation> Recognizer::adaptations() const {
  if (model_) return {Adaptation::kIciia, Adaptation::kPrior, Adaptation::kNone};
  return {Adaptation::kPrior, Adaptation::kNone};
}

void Recognizer::set_adaptation(Adaptation mode) {
  const std::vector<Adaptation> available = adaptations();
  if (std::find(available.begin(), available.end(), mode) == available.end()) {
    std::string names;
    for (Adaptation a : available) names += std::string(names.empty() ? "" : ", ") + adaptation_name(a);
    throw Error(ErrorCode::kInvalidArgument, std::string("adaptation '") + adaptation_name(mode) + "' needs ICIIA weights; bundle '" +
                                                 manifest_.name + "' has none (available: " + names + ")");
  }
  adaptation_ = mode;
  if (!store_) return;  // constructing: the session starts empty, like the history
  if (mode == Adaptation::kIciia && !session_current_) rebuild_session(store_->records());
  if (mode != Adaptation::kIciia) session_current_ = false;
}

std::vector<float> Recognizer::preprocess(const ImageView& image) const {
  return iciia::preprocess(image, manifest_.preprocess, kernels::Parallel{engine_ ? engine_->pool() : nullptr});
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

adapt::PriorResult Recognizer::estimate(double alpha, std::vector<double>& last) const {
  const int C = num_classes();
  // Warm start from the last estimate, nudged towards the source prior so a
  // class the estimate had driven to ~0 can come back.
  std::vector<double> start;
  if (!last.empty()) {
    start.resize(size_t(C));
    for (int y = 0; y < C; ++y) {
      const double source = manifest_.source_prior.empty() ? 1.0 / C : manifest_.source_prior[size_t(y)];
      start[size_t(y)] = (1 - kWarmStartMix) * last[size_t(y)] + kWarmStartMix * source;
    }
  }
  adapt::PriorResult est = adapt::estimate_prior(posteriors_.with_target(), C, manifest_.source_prior,
                                                 {.alpha = alpha, .max_iterations = kPriorStepsPerQuery}, start);
  last = est.prior;
  return est;
}

void Recognizer::adapt(const Analysis& a, bool remember, int k, Recognition& r) {
  r.adaptation = adaptation_;
  if (adaptation_ == Adaptation::kNone) {
    r.top = r.baseline;
    return;
  }
  const int C = num_classes();
  float* target = posteriors_.rows.data() + size_t(posteriors_.size) * size_t(C);
  std::copy(a.logits.begin(), a.logits.end(), target);
  kernels::softmax(target, C);
  if (!warned_without_logits_ && (adaptation_ == Adaptation::kPrior || shift_threshold_ > 0)) {
    const auto missing = std::count_if(store_->records().begin(), store_->records().end(),
                                       [](const HistoryRecord& rec) { return rec.logits.empty(); });
    if (missing) {
      warned_without_logits_ = true;
      if (warn_)
        warn_(std::to_string(missing) + " history record(s) of format version 1 hold no backbone logits: prior "
              "correction and the shift gate leave them out (ICIIA uses their features); they leave the window as "
              "new images are remembered");
    }
  }
  if (shift_threshold_ > 0) {
    // The gate's EM is maximum likelihood (what the test assumes); capped
    // steps leave G at or below the converged value, so a capped gate errs
    // towards the backbone.
    const adapt::PriorResult ml = estimate(0, shift_prior_);
    r.shift_statistic = adapt::shift_statistic(posteriors_.with_target(), C, ml.prior, manifest_.source_prior);
    r.shift_threshold = shift_threshold_;
    if (!(r.shift_statistic > shift_threshold_)) {
      r.adaptation = Adaptation::kNone;
      r.top = r.baseline;
      session_ahead_ = false;  // the session was not queried: staging appends the row
      return;
    }
  }
  if (adaptation_ == Adaptation::kIciia) {
    // With `remember`, the query keeps the target's k/v as the newest row,
    // which the staging that follows would otherwise compute again.
    QueryResult q = session_->query(a.features, {.attention = true, .append = remember});
    session_ahead_ = remember;
    r.top = top_k(q.logits, k);
    r.attention = std::move(q.attention);
    for (const HistoryRecord& rec : store_->records()) r.attention_seq.push_back(rec.seq);
    return;
  }
  const adapt::PriorResult est = estimate(prior_alpha_, prior_);
  std::vector<float> corrected(static_cast<size_t>(C));
  adapt::correct_posterior({target, size_t(C)}, est.prior, manifest_.source_prior, corrected);
  r.top = top_k_probabilities(corrected, k);
  r.prior.assign(est.prior.begin(), est.prior.end());
  r.prior_iterations = est.iterations;
}

void Recognizer::recognize(Analysis analysis, const RecognizeOptions& options,
                           std::function<void(StoreStatus, Recognition)> answered, Done committed) {
  if (options.top_k < 1)
    throw Error(ErrorCode::kInvalidArgument, "topK must be at least 1, got " + std::to_string(options.top_k));
  analysis = from_features(std::move(analysis.features), std::move(analysis.logits));
  const double t0 = now_ms();
  // Sync first: another tab may have appended since, and the answer should
  // use its records too.
  store_->sync([this, analysis = std::move(analysis), options, t0, answered = std::move(answered),
                committed = std::move(committed)](StoreStatus st) mutable {
    if (!st.ok()) return answered(st, {});
    Recognition r;
    r.sync_ms = now_ms() - t0;
    r.baseline = top_k(analysis.logits, options.top_k);
    const double t1 = now_ms();
    adapt(analysis, options.remember, options.top_k, r);
    r.adapt_ms = now_ms() - t1;
    if (!options.remember) {
      r.history_size = static_cast<int>(store_->records().size());
      return answered({}, std::move(r));
    }
    // The answer goes out before the commit's outcome, even from a backend
    // that completes at once.
    struct Order {
      bool answered = false;
      std::optional<StoreStatus> early;
      Done committed;
    };
    auto order = std::make_shared<Order>();
    order->committed = std::move(committed);
    HistoryRecord record{0, options.timestamp_ms, std::move(analysis.features), std::move(analysis.logits)};
    r.seq = store_->stage(std::move(record), [order](StoreStatus s) {
      if (!order->answered)
        order->early = s;
      else if (order->committed)
        order->committed(s);
    });
    r.history_size = static_cast<int>(store_->records().size());
    order->answered = true;
    answered({}, std::move(r));
    if (order->early && order->committed) order->committed(*order->early);
  });
}

void Recognizer::rebuild_session(RecordWindow records) {
  session_->clear();
  std::vector<float> rows;
  for (const HistoryRecord& r : records) rows.insert(rows.end(), r.features.begin(), r.features.end());
  session_->append_rows(rows);  // the k/v cache in multi-row passes
  session_current_ = true;
}

void Recognizer::history_appended(const HistoryRecord& record) {
  posteriors_.append(record.logits);
  if (!session_current_) return;
  if (session_ahead_)
    session_ahead_ = false;
  else
    session_->append(record.features);
}

void Recognizer::history_reset(RecordWindow records) {
  posteriors_.clear();
  for (const HistoryRecord& r : records) posteriors_.append(r.logits);
  if (records.empty()) {
    prior_.clear();
    shift_prior_.clear();
  }
  session_ahead_ = false;
  session_current_ = false;
  if (adaptation_ == Adaptation::kIciia) rebuild_session(records);
}

}  // namespace iciia
