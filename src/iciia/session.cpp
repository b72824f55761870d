#include "iciia/session.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "kernels/ops.h"
#include "util/error.h"

namespace iciia {

namespace {
constexpr int kMaxCapacity = 1 << 16;
}

IciiaSession::IciiaSession(std::shared_ptr<const IciiaModel> model, const SessionOptions& options)
    : model_(std::move(model)), capacity_(options.capacity) {
  if (!model_) throw Error(ErrorCode::kInvalidArgument, "IciiaSession: no model");
  if (capacity_ < 1 || capacity_ > kMaxCapacity)
    throw Error(ErrorCode::kInvalidArgument, "IciiaSession: capacity " + std::to_string(capacity_) +
                                                 " outside [1, " + std::to_string(kMaxCapacity) + "]");
  const IciiaConfig& c = model_->config();
  cached_ = c.attention == AttentionMode::kCausal || c.num_layers == 1;
  D_ = c.work_dim();
  const size_t rows = static_cast<size_t>(capacity_) + 1;
  embedded_.resize(rows * D_);
  if (cached_) {
    keys_.assign(c.num_layers, std::vector<float>(rows * D_));
    values_.assign(c.num_layers, std::vector<float>(rows * D_));
  }
  x_.resize(D_);
  qkv_.resize(3 * static_cast<size_t>(D_));
  attn_.resize(D_);
  tmp_.resize(D_);
  ff_.resize(D_);
  probs_.resize(rows);
  weights_.resize(rows);
  scratch_.resize(model_->linear_scratch_floats());
}

void IciiaSession::check_feature(std::span<const float> feature) const {
  const int d = model_->config().dim;
  if (feature.size() != static_cast<size_t>(d))
    throw Error(ErrorCode::kInvalidArgument, "ICIIA: feature has " + std::to_string(feature.size()) +
                                                 " values, the model expects dim = " + std::to_string(d));
  // A non-finite float has every exponent bit set. The OR over the row
  // vectorises (a start-up checks every stored row); the message's loop
  // below runs only for a bad row.
  // (memcpy, not std::bit_cast: emscripten 3.1.6's libc++ lacks it.)
  uint32_t bad = 0;
  for (float v : feature) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    bad |= (bits & 0x7f800000u) == 0x7f800000u;
  }
  if (!bad) return;
  for (size_t i = 0; i < feature.size(); ++i)
    if (!std::isfinite(feature[i]))
      throw Error(ErrorCode::kInvalidArgument,
                  "ICIIA: feature value " + std::to_string(i) + " is not finite (" + std::to_string(feature[i]) + ")");
}

std::span<const float> IciiaSession::embedded_row(int i) const {
  if (i < 0 || i >= size_)
    throw Error(ErrorCode::kInvalidArgument, "ICIIA: history row " + std::to_string(i) + " outside [0, " +
                                                 std::to_string(size_) + ")");
  return {embedded_.data() + static_cast<size_t>(slot_of(i)) * D_, static_cast<size_t>(D_)};
}

void IciiaSession::clear() {
  size_ = 0;
  head_ = 0;
}

void IciiaSession::commit_spare() {
  // The target sits in slot size_ (== capacity_ when full).
  if (size_ < capacity_) {
    ++size_;
    return;
  }
  auto move_row = [&](std::vector<float>& rows) {
    std::copy_n(rows.data() + static_cast<size_t>(capacity_) * D_, D_, rows.data() + static_cast<size_t>(head_) * D_);
  };
  move_row(embedded_);
  for (auto& k : keys_) move_row(k);
  for (auto& v : values_) move_row(v);
  head_ = (head_ + 1) % capacity_;
}

void IciiaSession::run_cached(bool need_logits, bool need_attention, QueryResult* result) {
  const IciiaConfig& c = model_->config();
  const int t = size_, H = c.num_heads, dh = c.head_dim();
  const size_t t_off = static_cast<size_t>(t) * D_;
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  const float avg = 1.f / (static_cast<float>(H) * c.num_layers);
  // Appending under full attention needs only layer 1's k/v: deeper layers
  // are never cached in that mode (L = 1).
  const bool kv_only = !need_logits && c.attention == AttentionMode::kFull;
  if (need_attention) std::fill_n(weights_.begin(), t, 0.f);
  std::copy_n(embedded_.data() + t_off, D_, x_.data());

  for (int l = 0; l < c.num_layers; ++l) {
    const IciiaLayer& layer = model_->layers()[l];
    layer.in_proj.run(x_.data(), 1, qkv_.data(), scratch_.data());
    std::copy_n(qkv_.data() + D_, D_, keys_[l].data() + t_off);
    std::copy_n(qkv_.data() + 2 * D_, D_, values_[l].data() + t_off);
    if (kv_only) return;
    for (int h = 0; h < H; ++h) {
      // Slots 0..t-1 are the history (in ring order), slot t the target itself.
      kernels::attention_head(qkv_.data() + h * dh, keys_[l].data() + h * dh, values_[l].data() + h * dh, t + 1, D_,
                              dh, scale, probs_.data(), attn_.data() + h * dh);
      if (need_attention) kernels::axpy(avg, probs_.data(), weights_.data(), t);
    }
    finish_layer(layer, D_, 1, x_.data(), attn_.data(), tmp_.data(), ff_.data(), scratch_.data());
  }
  if (need_logits) {
    kernels::relu(x_.data(), D_);
    result->logits.resize(c.num_classes);
    model_->classifier().run(x_.data(), 1, result->logits.data(), scratch_.data());
  }
  if (need_attention) {
    result->attention.resize(t);
    for (int i = 0; i < t; ++i) result->attention[i] = weights_[slot_of(i)];
  }
}

void IciiaSession::append(std::span<const float> feature) {
  check_feature(feature);
  model_->embed(feature.data(), embedded_.data() + static_cast<size_t>(size_) * D_);
  if (cached_) run_cached(false, false, nullptr);
  commit_spare();
}

void IciiaSession::append_rows(std::span<const float> features) {
  const int d = model_->config().dim;
  if (features.size() % d)
    throw Error(ErrorCode::kInvalidArgument, "ICIIA: " + std::to_string(features.size()) +
                                                 " values are not whole rows of dim = " + std::to_string(d));
  const int n = static_cast<int>(features.size() / d);
  for (int i = 0; i < n; ++i) {
    try {
      check_feature(features.subspan(static_cast<size_t>(i) * d, d));
    } catch (const Error& e) {
      throw Error(e.code(), std::string(e.what()) + " (row " + std::to_string(i) + " of " + std::to_string(n) + ")");
    }
  }
  // Rows that fit without evicting: multi-row passes, in blocks that keep the
  // workspace small. (Only an empty or partly filled session has room, and
  // there the slots are in history order.) The dense GEMM (g = 1) reuses each
  // packed weight panel across the block's rows, so its blocks are large; the
  // interleaved kernel (many partitions) reuses weights within its own 8-row
  // tiles, and a small block keeps the projected rows in cache until they are
  // copied into the k/v cache (with 128 rows they are 2 MB at d = 1280, and
  // that round trip through memory made the pass slower than row by row).
  const bool interleaved =
      model_->layers().front().in_proj.layout() == kernels::PackedLinear::Layout::kInterleave;
  const int block_rows = interleaved ? 16 : 128;
  int i = 0;
  while (cached_ && size_ < capacity_ && n - i > 1) {
    const int rows = std::min({n - i, capacity_ - size_, block_rows});
    for (int r = 0; r < rows; ++r)
      model_->embed(features.data() + static_cast<size_t>(i + r) * d,
                    embedded_.data() + static_cast<size_t>(size_ + r) * D_);
    append_block(rows);
    i += rows;
  }
  for (; i < n; ++i) append(features.subspan(static_cast<size_t>(i) * d, d));
}

void IciiaSession::append_block(int rows) {
  const IciiaConfig& c = model_->config();
  const int t0 = size_, H = c.num_heads, dh = c.head_dim();
  const size_t off = static_cast<size_t>(t0) * D_, rowsD = static_cast<size_t>(rows) * D_;
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  // Workspace of the block, kept: a start-up runs several blocks.
  std::vector<float>& x = block_x_;
  std::vector<float>& qkv = block_qkv_;
  qkv.resize(3 * rowsD);
  for (int l = 0; l < c.num_layers; ++l) {
    const IciiaLayer& layer = model_->layers()[l];
    // Layer 1 reads the embedded rows in place; deeper layers read x, the
    // previous layer's output (copied only when there is one to compute).
    layer.in_proj.run(l == 0 ? embedded_.data() + off : x.data(), rows, qkv.data(), scratch_.data());
    for (int r = 0; r < rows; ++r) {
      const float* q = qkv.data() + static_cast<size_t>(r) * 3 * D_;
      std::copy_n(q + D_, D_, keys_[l].data() + off + static_cast<size_t>(r) * D_);
      std::copy_n(q + 2 * D_, D_, values_[l].data() + off + static_cast<size_t>(r) * D_);
    }
    // The next layer's k/v need this layer's output: only causal L > 1 has
    // them (full attention is cached for L = 1 only).
    if (l + 1 == c.num_layers) break;
    if (l == 0) x.assign(embedded_.begin() + off, embedded_.begin() + off + rowsD);
    std::vector<float>& attn = block_attn_;
    std::vector<float>& tmp = block_tmp_;
    std::vector<float>& ff = block_ff_;
    attn.resize(rowsD);
    tmp.resize(rowsD);
    ff.resize(rowsD);
    for (int r = 0; r < rows; ++r) {
      // Row t0 + r attends causally to slots 0..t0 + r, itself included.
      const float* q = qkv.data() + static_cast<size_t>(r) * 3 * D_;
      for (int h = 0; h < H; ++h)
        kernels::attention_head(q + h * dh, keys_[l].data() + h * dh, values_[l].data() + h * dh, t0 + r + 1, D_, dh,
                                scale, probs_.data(), attn.data() + static_cast<size_t>(r) * D_ + h * dh);
    }
    finish_layer(layer, D_, rows, x.data(), attn.data(), tmp.data(), ff.data(), scratch_.data());
  }
  size_ += rows;
}

QueryResult IciiaSession::query(std::span<const float> feature, const QueryOptions& options) {
  check_feature(feature);
  QueryResult result;
  if (cached_) {
    model_->embed(feature.data(), embedded_.data() + static_cast<size_t>(size_) * D_);
    run_cached(true, options.attention, &result);
  } else {
    result = query_recompute(feature, options);
    // query_recompute leaves the spare slot alone; fill it for the commit.
    model_->embed(feature.data(), embedded_.data() + static_cast<size_t>(size_) * D_);
  }
  if (options.append) commit_spare();
  return result;
}

QueryResult IciiaSession::query_recompute(std::span<const float> feature, const QueryOptions& options) const {
  check_feature(feature);
  const int S = size_ + 1;
  std::vector<float> xe(static_cast<size_t>(S) * D_);
  for (int i = 0; i < size_; ++i) {
    auto row = embedded_row(i);
    std::copy(row.begin(), row.end(), xe.begin() + static_cast<size_t>(i) * D_);
  }
  model_->embed(feature.data(), xe.data() + static_cast<size_t>(size_) * D_);
  QueryResult result;
  result.logits.resize(model_->config().num_classes);
  model_->forward_embedded(xe.data(), S, 1, result.logits.data(), options.attention ? &result.attention : nullptr);
  return result;
}

}  // namespace iciia
