// The recognition pipeline of one client:
//   image → preprocess → backbone (features + its own logits)
//         → adaptation over the client's history (docs/design.md,
//           "Adaptation": ICIIA, prior correction, or none) → adapted and
//           backbone top-k → (unless told not to) the record staged in the
//           history: the answer goes out at once, the commit follows.
//
// Storage is asynchronous (IndexedDB), so recognize() completes through
// callbacks: one for the answer, one when the record is durable. analyze()
// (pixels → features and logits) is synchronous and separate so a caller can
// run the backbone elsewhere (onnxruntime-web) or before taking the history's
// lock. Operations must not overlap: the caller queues them (the JS package
// does, and holds a cross-tab lock from each sync until the commits it
// started are done).
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "adapt/prior_correction.h"
#include "engine/engine.h"
#include "iciia/session.h"
#include "pipeline/bundle.h"
#include "store/history_store.h"

namespace iciia {

// Prior correction's Dirichlet smoothing unless the caller picks another:
// this many pseudo-images spread evenly over the classes, α = 0.3 / C
// (docs/design.md, "Adaptation", says how it was chosen).
inline constexpr double kDefaultPriorPseudoImages = 0.3;
// EM steps per query at most: the warm start carries the estimate from one
// query to the next, so where EM is slow (an uncertain backbone over many
// classes) it keeps converging over the stream at a bounded cost per image.
inline constexpr int kPriorStepsPerQuery = 16;

struct RecognizerOptions {
  int history_capacity = 0;               // 0: the manifest's
  std::optional<Adaptation> adaptation;   // unset: the manifest's default
  std::optional<double> prior_alpha;      // α per class; unset: kDefaultPriorPseudoImages / C
  // The label-shift gate's level (adapt/shift_gate.h): the history adapts
  // the answer only once it shows a shift at this level; 0: always adapt.
  // Unset: adapt::kDefaultShiftLevel.
  std::optional<double> shift_level;
  engine::EngineOptions engine;  // limits for the backbone (input dims and tensors are set from the manifest)
};

struct Ranked {
  int index = 0;
  float score = 0;  // probability
};

struct Analysis {
  std::vector<float> features;  // d
  std::vector<float> logits;    // C, the backbone's own
  double preprocess_ms = 0, backbone_ms = 0;
};

struct RecognizeOptions {
  bool remember = true;
  int top_k = 5;
  double timestamp_ms = 0;  // stored with the record
};

struct Recognition {
  Adaptation adaptation = Adaptation::kNone;  // what computed `top` (kNone too when the gate held)
  std::vector<Ranked> top, baseline;
  // kIciia: over the history before this image, oldest first.
  std::vector<float> attention;
  std::vector<uint64_t> attention_seq;
  // kPrior: the client's class frequencies as estimated over the history
  // and this image (C values summing to 1), and the EM steps it took.
  std::vector<float> prior;
  int prior_iterations = 0;
  // The label-shift gate over the history and this image (both 0 when it is
  // off or the mode is kNone): its statistic G and the threshold G had to
  // pass for the mode to answer.
  double shift_statistic = 0, shift_threshold = 0;
  std::optional<uint64_t> seq;  // this image's record, when remembered (durable once committed)
  int history_size = 0;         // after the call, staged records included
  double sync_ms = 0;           // catching up with storage before answering
  double adapt_ms = 0;          // the adaptation (ICIIA query, EM)
};

class Recognizer : private HistoryObserver {
 public:
  // Verifies the bundle (sha256 of its files), loads the backbone and, when
  // the bundle has them, the ICIIA weights (`iciia` empty otherwise), and
  // checks they fit together and with the manifest (kShape naming what
  // differs). kInvalidArgument when options.adaptation is not available.
  Recognizer(const BundleManifest& manifest, std::span<const uint8_t> backbone, std::span<const uint8_t> iciia,
             std::shared_ptr<RecordBackend> storage, const RecognizerOptions& options = {}, Warn warn = {});
  ~Recognizer() override;

  const BundleManifest& manifest() const { return manifest_; }
  const Fingerprint& fingerprint() const { return fingerprint_; }  // the bundle's
  const HistoryTags& history_tags() const { return store_->tags(); }
  int feature_dim() const { return dim_; }
  int num_classes() const { return static_cast<int>(manifest_.labels.size()); }
  // Threads the backbone runs on (1 without a backend engine: onnxruntime runs it).
  int threads() const { return engine_ ? engine_->threads() : 1; }
  bool has_iciia() const { return model_ != nullptr; }
  const IciiaModel* iciia() const { return model_.get(); }
  const IciiaSession* session() const { return session_.get(); }

  // Modes this bundle can run: kIciia only with ICIIA weights.
  std::vector<Adaptation> adaptations() const;
  Adaptation adaptation() const { return adaptation_; }
  // Takes effect for the next recognize(); kInvalidArgument (naming the
  // modes available) for one this bundle cannot run. Switching to kIciia
  // rebuilds the ICIIA cache over the history (a load's cost), which the
  // other modes do not keep up to date.
  void set_adaptation(Adaptation mode);
  double prior_alpha() const { return prior_alpha_; }
  double shift_level() const { return shift_level_; }

  // Pixels → backbone input (NCHW), exactly what analyze() feeds the backbone.
  std::vector<float> preprocess(const ImageView& image) const;
  Analysis analyze(const ImageView& image);
  // Checks features/logits from another backbone runtime (sizes, finite).
  Analysis from_features(std::vector<float> features, std::vector<float> logits) const;

  // Loads / refreshes the history from storage.
  void sync(Done done) { store_->sync(std::move(done)); }
  // Syncs, adapts, and answers through `answered`; with options.remember the
  // record is staged first (the answer carries its seq, the next call sees
  // it) and `committed` runs once its transaction completed, always after
  // `answered`. A failed commit removes the record again.
  void recognize(Analysis analysis, const RecognizeOptions& options,
                 std::function<void(StoreStatus, Recognition)> answered, Done committed = {});

  HistoryStore& history() { return *store_; }

 private:
  // The backbone's posteriors of the history rows, for prior correction: a
  // FIFO ring of capacity + 1 rows of C (the extra row for the target), rows
  // of records without logits left zero so EM skips them.
  struct PosteriorRows {
    int classes = 0, capacity = 0, size = 0, head = 0;
    std::vector<float> rows;
    void append(std::span<const float> logits);
    // The history rows and the target's slot after them: what EM and the gate read.
    std::span<const float> with_target() const { return {rows.data(), size_t(size + 1) * size_t(classes)}; }
    void clear() { size = head = 0; }
  };

  void history_appended(const HistoryRecord& record) override;
  void history_reset(RecordWindow records) override;
  void rebuild_session(RecordWindow records);
  void adapt(const Analysis& analysis, bool remember, int k, Recognition& r);
  // EM over the history rows and the target (already in its slot), warm
  // started from `last` (updated), kPriorStepsPerQuery steps at most.
  adapt::PriorResult estimate(double alpha, std::vector<double>& last) const;

  BundleManifest manifest_;
  Fingerprint fingerprint_;
  int dim_ = 0;
  std::optional<engine::Engine> engine_;
  std::shared_ptr<const IciiaModel> model_;
  std::unique_ptr<IciiaSession> session_;
  bool session_current_ = false;  // the session mirrors the history (kept up to date in kIciia only)
  bool session_ahead_ = false;    // the session already holds the row being staged (a query appended it)
  PosteriorRows posteriors_;
  std::vector<double> prior_;     // the last estimate: EM's warm start
  std::vector<double> shift_prior_;  // the gate's last (maximum-likelihood) estimate
  double prior_alpha_;
  double shift_level_;
  double shift_threshold_ = 0;   // χ²(C - 1) at shift_level_; 0: the gate is off
  Adaptation adaptation_;
  bool warned_without_logits_ = false;
  Warn warn_;
  std::unique_ptr<HistoryStore> store_;
};

// Indices of the k largest values (ties: lower index first) with softmax
// probabilities of all values as scores.
std::vector<Ranked> top_k(std::span<const float> logits, int k);
// The same ranking of probabilities, which are the scores.
std::vector<Ranked> top_k_probabilities(std::span<const float> probs, int k);

}  // namespace iciia
