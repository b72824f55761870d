// One client's history and the incremental ICIIA inference over it.
//
// What is cached per history row depends on the attention mode:
//  - causal, any L, and full with L = 1: every layer's k and v rows, fixed
//    once the row is appended, so append and query cost O(L (D^2/g + n D)),
//    the KV-cache pattern;
//  - full with L > 1: a history row's deeper representations depend on the
//    target, so a query recomputes the whole sequence, O(L n (D^2/g + n D)).
// The embedded features are kept in every mode (recompute, export).
//
// Capacity is a FIFO: appending to a full session evicts the oldest row. With
// causal attention and L > 1 the cached deeper k/v of the remaining rows were
// computed while the evicted rows were still there (the streaming-LLM window),
// so after an eviction a query is no longer identical to a causal recompute of
// the window; for full L = 1 and causal L = 1 it stays exact.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "iciia/model.h"

namespace iciia {

struct SessionOptions {
  int capacity = 64;
};

struct QueryOptions {
  bool attention = false;  // also return the weights over the history
  bool append = false;     // remember the target afterwards (reuses its k/v)
};

struct QueryResult {
  std::vector<float> logits;     // C values
  std::vector<float> attention;  // history size values, oldest first, mean over heads and layers
};

class IciiaSession {
 public:
  IciiaSession(std::shared_ptr<const IciiaModel> model, const SessionOptions& options = {});

  // Throws kInvalidArgument if the feature is not dim finite values; the
  // history is untouched then.
  void append(std::span<const float> feature);
  // Appends `features.size() / dim` rows, oldest first: the same history as
  // appending them one by one (the k/v rows agree to float rounding; with
  // many partitions, bit for bit), but the rows that fit without evicting go
  // through each layer in multi-row passes (one GEMM instead of one GEMV per
  // row; with many partitions, 8-row tiles of the interleaved kernel): how a
  // session is rebuilt from a stored history. Throws kInvalidArgument, naming the row,
  // before anything is appended.
  void append_rows(std::span<const float> features);
  QueryResult query(std::span<const float> feature, const QueryOptions& options = {});
  // The same answer, recomputing every position with IciiaModel::forward: the
  // paper's semantics and the anchor the cached path is tested against.
  QueryResult query_recompute(std::span<const float> feature, const QueryOptions& options = {}) const;

  void clear();
  int size() const { return size_; }
  int capacity() const { return capacity_; }
  bool cached() const { return cached_; }
  const IciiaModel& model() const { return *model_; }
  // The i-th remembered feature (oldest first), embedded in the encoder width.
  std::span<const float> embedded_row(int i) const;

 private:
  int slot_of(int i) const { return (head_ + i) % capacity_; }
  void check_feature(std::span<const float> feature) const;
  // Runs the target, embedded in x_, through every layer, writing its k/v
  // into the spare slot `capacity_` of each layer's cache; stops after the
  // first layer's k/v when only those are needed.
  void run_cached(bool need_logits, bool need_attention, QueryResult* result);
  // Commits the spare slot (holding the target) as the newest row.
  void commit_spare();
  // The k/v of `rows` embedded rows in slots [size_, size_ + rows), committed;
  // size_ + rows <= capacity_.
  void append_block(int rows);

  std::shared_ptr<const IciiaModel> model_;
  int capacity_;
  bool cached_;     // k/v cache in use (else recompute)
  int size_ = 0;
  int head_ = 0;    // slot of the oldest row once full
  int D_;
  // capacity + 1 rows each: the extra row holds the target during a query, so
  // attention runs over one contiguous block of slots.
  std::vector<float> embedded_;                 // [cap+1][D]
  std::vector<std::vector<float>> keys_, values_;  // per layer [cap+1][D]
  // Workspace, sized once.
  std::vector<float> x_, qkv_, attn_, tmp_, ff_, probs_, weights_, scratch_;
  std::vector<float> block_x_, block_qkv_, block_attn_, block_tmp_, block_ff_;  // append_rows, grown once
};

}  // namespace iciia
