#include "train/iciia/trainer.h"

#include <chrono>
#include <cmath>
#include <memory>

#include <ATen/CPUGeneratorImpl.h>

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

TrainResult train_iciia(const FeatureSet& set, const std::string& set_name, const TrainOptions& o) {
  if (o.batch < 1) throw Error(ErrorCode::kInvalidArgument, "batch size " + std::to_string(o.batch) + " < 1");
  if (!(o.lr > 0)) throw Error(ErrorCode::kInvalidArgument, "learning rate must be positive");
  if (!(o.dropout >= 0 && o.dropout < 1)) throw Error(ErrorCode::kInvalidArgument, "dropout must be in [0, 1)");
  const IciiaConfig config = train_config(o, static_cast<int>(set.dim), static_cast<int>(set.num_classes));
  const ClientSampler sampler(set, o.clients, o.seq_len, set_name);
  const int64_t steps = train_steps(o, set.count);
  const auto start = std::chrono::steady_clock::now();

  if (o.threads > 0) torch::set_num_threads(o.threads);
  at::Generator generator = at::detail::createCPUGenerator(o.seed);
  TrainResult result{IciiaNet(config, o.attention, generator)};
  const torch::Tensor X = torch::from_blob(const_cast<float*>(set.features.data()), {set.count, set.dim}, torch::kFloat32);
  const torch::Tensor Y = torch::from_blob(const_cast<int32_t*>(set.labels.data()), {set.count}, torch::kInt32).to(torch::kInt64);
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
