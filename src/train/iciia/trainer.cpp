#include "train/iciia/trainer.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <memory>

#include <ATen/CPUGeneratorImpl.h>

#include "train/data/style.h"
#include "train/progress.h"
#include "util/error.h"

namespace iciia::train {

int preset_partitions(char preset, int dim) {
  if (preset == 'B') return 1;
  if (preset != 'T')
    throw Error(ErrorCode::kInvalidArgument, std::string("preset '") + preset + "': expected B (g = 1) or T (partitioned)");
  constexpr int kMinPerPartition = 4;
  for (int g = dim / kMinPerPartition; g > 1; --g)
    if (dim % g == 0) return g;
  return 1;
}

IciiaConfig train_config(const TrainOptions& o, int dim, int classes) {
  IciiaConfig c;
  c.dim = dim;
  c.num_classes = classes;
  c.num_heads = o.heads;
  c.num_layers = o.layers;
  c.num_partitions = o.partitions > 0 ? o.partitions : preset_partitions(o.preset, dim);
  c.shuffle = o.shuffle;
  c.attention = o.attention == Attention::kCausal ? AttentionMode::kCausal : AttentionMode::kFull;
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(ErrorCode::kInvalidArgument, std::string("ICIIA-") + o.preset + " on " + std::to_string(dim) +
                                                 "-wide features: " + e.what());
  }
  return c;
}

int64_t train_steps(const TrainOptions& o, int64_t images) {
  if (o.epochs <= 0) return std::max<int64_t>(1, o.steps);
  // A step holds batch sequences of seq_len / 2 images on average.
  const double per_step = static_cast<double>(o.batch) * (o.seq_len + 1) / 2;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(o.epochs * static_cast<double>(images) / per_step)));
}

namespace {

// Draws each sequence's client from one of several samplers (a mixture) or
// from the one of options.clients. Styled kinds index the styled set, whose
// rows follow the clean set's in the training tensor (offset set.count).
class MixedSampler {
 public:
  MixedSampler(const FeatureSet& set, const std::string& set_name, const TrainOptions& o, const FeatureSet* styled,
               const std::string& styled_name) {
    const std::vector<MixEntry> mix = o.mix.empty() ? std::vector<MixEntry>{{o.clients, 1}} : o.mix;
    double total = 0;
    for (const MixEntry& e : mix) {
      if (!(e.weight > 0) || !std::isfinite(e.weight))
        throw Error(ErrorCode::kInvalidArgument, "mixture weight of " + e.clients.describe() + " must be positive");
      const bool uses_styled = e.clients.needs_styles();
      if (uses_styled && !styled)
        throw Error(ErrorCode::kInvalidArgument, "clients " + e.clients.describe() +
                                                     " need a styled training set (--styled FILE, from iciia extract "
                                                     "--styles N on the training split)");
      samplers_.emplace_back(uses_styled ? *styled : set, e.clients, o.seq_len, uses_styled ? styled_name : set_name);
      offsets_.push_back(uses_styled ? set.count : 0);
      total += e.weight;
      cumulative_.push_back(total);
    }
    for (double& c : cumulative_) c /= total;
  }

  void sample(std::mt19937_64& rng, std::vector<int>& classes, int64_t* images) const {
    size_t i = 0;
    if (samplers_.size() > 1) {
      const double u = data::uniform01(rng);
      while (i + 1 < cumulative_.size() && u >= cumulative_[i]) ++i;
    }
    samplers_[i].sample(rng, classes, images);
    if (offsets_[i] != 0)
      for (int s = 0; s < samplers_[i].seq_len(); ++s) images[s] += offsets_[i];
  }

 private:
  std::vector<ClientSampler> samplers_;
  std::vector<int64_t> offsets_;
  std::vector<double> cumulative_;
};

}  // namespace

std::vector<MixEntry> parse_mix(const std::string& text, const ClassGroups& groups) {
  std::vector<MixEntry> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    if (a == std::string::npos)
      throw Error(ErrorCode::kInvalidArgument, "client mixture '" + text + "': empty item (expected KIND[:WEIGHT], ...)");
    item = item.substr(a, b - a + 1);
    MixEntry e;
    const size_t colon = item.rfind(':');
    if (colon != std::string::npos) {
      const std::string w = item.substr(colon + 1);
      char* end = nullptr;
      e.weight = std::strtod(w.c_str(), &end);
      if (w.empty() || *end != '\0' || !(e.weight > 0) || !std::isfinite(e.weight))
        throw Error(ErrorCode::kInvalidArgument, "client mixture item '" + item + "': weight '" + w +
                                                     "' is not a positive number");
      item = item.substr(0, colon);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.pop_back();
    }
    e.clients = parse_client_kind(item, groups);
    out.push_back(std::move(e));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string describe_mix(const std::vector<MixEntry>& mix) {
  std::string s;
  for (const MixEntry& e : mix) {
    char w[32];
    std::snprintf(w, sizeof w, "%g", e.weight);
    s += (s.empty() ? "" : ", ") + e.clients.describe() + ":" + w;
  }
  return s;
}

TrainResult train_iciia(const FeatureSet& set, const std::string& set_name, const TrainOptions& o,
                        const FeatureSet* styled, const std::string& styled_name) {
  if (o.batch < 1) throw Error(ErrorCode::kInvalidArgument, "batch size " + std::to_string(o.batch) + " < 1");
  if (!(o.lr > 0)) throw Error(ErrorCode::kInvalidArgument, "learning rate must be positive");
  if (!(o.dropout >= 0 && o.dropout < 1)) throw Error(ErrorCode::kInvalidArgument, "dropout must be in [0, 1)");
  const IciiaConfig config = train_config(o, static_cast<int>(set.dim), static_cast<int>(set.num_classes));
  if (styled) check_compatible(set, set_name, *styled, styled_name);
  const MixedSampler sampler(set, set_name, o, styled, styled_name);
  const int64_t steps = train_steps(o, set.count);
  const auto start = std::chrono::steady_clock::now();

  if (o.threads > 0) torch::set_num_threads(o.threads);
  at::Generator generator = at::detail::createCPUGenerator(o.seed);
  TrainResult result{IciiaNet(config, o.attention, generator)};
  torch::Tensor X = torch::from_blob(const_cast<float*>(set.features.data()), {set.count, set.dim}, torch::kFloat32);
  torch::Tensor Y = torch::from_blob(const_cast<int32_t*>(set.labels.data()), {set.count}, torch::kInt32).to(torch::kInt64);
  if (styled) {
    X = torch::cat({X, torch::from_blob(const_cast<float*>(styled->features.data()), {styled->count, styled->dim},
                                        torch::kFloat32)});
    Y = torch::cat({Y, torch::from_blob(const_cast<int32_t*>(styled->labels.data()), {styled->count}, torch::kInt32)
                           .to(torch::kInt64)});
  }
  torch::optim::AdamW opt(result.net.parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  std::mt19937_64 rng(o.seed);
  std::vector<int> classes;
  std::unique_ptr<Progress> bar;
  if (!o.label.empty()) bar = std::make_unique<Progress>(o.label, steps, "step");
  const int64_t warmup = std::max<int64_t>(1, steps / 20);
  double run_loss = 0, run_acc = 0, run_weight = 0;
  for (int64_t step = 0; step < steps; ++step) {
    const double lr = step < warmup ? o.lr * static_cast<double>(step + 1) / warmup
                                    : o.lr * 0.5 * (1 + std::cos(M_PI * static_cast<double>(step - warmup) / (steps - warmup)));
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);

    // Causal trains every prefix of full-length sequences, half as many so a
    // step costs what a full step does on average; full (and ff, whose
    // positions are independent) draws the length.
    const bool causal = o.attention == Attention::kCausal;
    const int S = causal ? o.seq_len : 1 + static_cast<int>(uniform_index(rng, o.seq_len));
    const int B = causal ? (o.batch + 1) / 2 : o.batch;
    std::vector<int64_t> index(static_cast<size_t>(B) * o.seq_len);
    for (int b = 0; b < B; ++b) sampler.sample(rng, classes, index.data() + static_cast<size_t>(b) * o.seq_len);
    const torch::Tensor idx =
        torch::from_blob(index.data(), {B, o.seq_len}, torch::kInt64).narrow(1, 0, S).reshape({-1});
    const torch::Tensor x = X.index_select(0, idx).view({B, S, set.dim});
    const torch::Tensor y = Y.index_select(0, idx);

    const torch::Tensor logits = result.net.forward(x, o.dropout, generator).reshape({-1, set.num_classes});
    const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
    opt.zero_grad();
    loss.backward();
    opt.step();

    // Running means weighted towards the last ~100 steps.
    const double acc = logits.argmax(1).eq(y).to(torch::kFloat64).mean().item<double>();
    run_weight = 0.99 * run_weight + 1;
    run_loss = 0.99 * run_loss + loss.item<double>();
    run_acc = 0.99 * run_acc + acc;
    if (bar) bar->update(1, run_loss / run_weight, run_acc / run_weight);
  }
  if (bar) bar->finish();
  result.steps = steps;
  result.final_loss = run_loss / run_weight;
  result.final_accuracy = run_acc / run_weight;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace iciia::train
