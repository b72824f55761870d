// The recognition pipeline of one client:
//   image → preprocess → backbone (features + its own logits)
//         → ICIIA over the client's history → adapted and backbone top-k,
//           attention over the history → (unless told not to) the features
//           appended to the history, durably.
//
// Storage is asynchronous (IndexedDB), so recognize() completes through a
// callback; analyze() (pixels → features) is synchronous and separate so a
// caller can run the backbone elsewhere (onnxruntime-web) and hand the
// features in. Operations must not overlap: the caller queues them (the JS
// package does, and takes a cross-tab lock around each).
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "engine/engine.h"
#include "iciia/session.h"
#include "pipeline/bundle.h"
#include "store/history_store.h"

namespace iciia {

struct RecognizerOptions {
  int history_capacity = 0;  // 0: the manifest's
  engine::EngineOptions engine;  // limits for the backbone (input dims and tensors are set from the manifest)
};

struct Ranked {
  int index = 0;
  float score = 0;  // softmax probability
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
  std::vector<Ranked> top, baseline;
  // Over the history before this image, oldest first.
  std::vector<float> attention;
  std::vector<uint64_t> attention_seq;
  std::optional<uint64_t> seq;  // this image's record, when remembered
  int history_size = 0;         // after the call
  double iciia_ms = 0, store_ms = 0;
};

class Recognizer : private HistoryObserver {
 public:
  // Verifies the bundle (sha256 of both files), loads both models and checks
  // they fit together and with the manifest (kShape naming what differs).
  Recognizer(const BundleManifest& manifest, std::span<const uint8_t> backbone, std::span<const uint8_t> iciia,
             std::shared_ptr<RecordBackend> storage, const RecognizerOptions& options = {}, Warn warn = {});
  ~Recognizer() override;

  const BundleManifest& manifest() const { return manifest_; }
  const Fingerprint& fingerprint() const { return store_->fingerprint(); }
  int feature_dim() const { return model_->config().dim; }
  int num_classes() const { return model_->config().num_classes; }
  const IciiaModel& iciia() const { return *model_; }

  // Pixels → backbone input (NCHW), exactly what analyze() feeds the backbone.
  std::vector<float> preprocess(const ImageView& image) const;
  Analysis analyze(const ImageView& image);
  // Checks features/logits from another backbone runtime (sizes, finite).
  Analysis from_features(std::vector<float> features, std::vector<float> logits) const;

  // Loads / refreshes the history from storage.
  void sync(Done done) { store_->sync(std::move(done)); }
  void recognize(Analysis analysis, const RecognizeOptions& options,
                 std::function<void(StoreStatus, Recognition)> done);

  HistoryStore& history() { return *store_; }
  const IciiaSession& session() const { return *session_; }

 private:
  void history_appended(const HistoryRecord& record) override;
  void history_reset(const std::deque<HistoryRecord>& records) override;

  BundleManifest manifest_;
  std::optional<engine::Engine> engine_;
  std::shared_ptr<const IciiaModel> model_;
  std::unique_ptr<IciiaSession> session_;
  std::unique_ptr<HistoryStore> store_;
};

// Indices of the k largest values (ties: lower index first) with softmax
// probabilities of all values as scores.
std::vector<Ranked> top_k(std::span<const float> logits, int k);

}  // namespace iciia
