// The trainable ICIIA module (libtorch): the semantics of docs/design.md, "ICIIA module", parameters
// under the paper's state_dict names so a trained module saves to a weights
// file the runtime (IciiaModel) loads, and the paper's files load into it.
//
// Besides `full` and `causal` it runs the paper's attention-free ablation
// `ff`: the same layers, but every position attends only to itself, so the
// attention output is the position's own v and the history is ignored. `ff`
// exists for evaluation only; the runtime has no such mode, so it is never
// saved.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "iciia/config.h"
#include "iciia/model.h"
#include "train/iciia/attention.h"

namespace iciia::train {

class IciiaNet {
 public:
  // Random initialisation, as PyTorch initialises TransformerEncoderLayer and
  // Linear (per partition for g > 1), drawn from `generator` (never torch's
  // global one, so modules can be built and trained on several threads and
  // each still repeats for its seed). `config.attention` is ignored;
  // `attention` decides.
  IciiaNet(const IciiaConfig& config, Attention attention, at::Generator generator);

  // Reads a weights file (the runtime's checks: names, shapes, dtypes, finite
  // values, no extra tensors); throws iciia::Error naming the problem.
  static IciiaNet load(const std::string& path);

  // x [B, S, d] -> logits [B, S, C]. With a generator and dropout > 0,
  // PyTorch's TransformerEncoderLayer dropouts (attention weights, after the
  // attention block, inside and after the feed-forward block) for training;
  // without, inference.
  torch::Tensor forward(const torch::Tensor& x, double dropout = 0.0,
                        std::optional<at::Generator> generator = std::nullopt) const;

  // Writes the weights file with the `__metadata__` of docs/design.md, "Weights file". Throws
  // kInvalidArgument for `ff`, which the runtime cannot run.
  void save(const std::string& path) const;
  // The parameters as host tensors under their state_dict names, in
  // IciiaModel::expected_tensors order (IciiaModel::from_tensors takes them).
  std::vector<NamedTensor> named_tensors() const;
  // Hyper-parameters; `attention` is the runtime mode for full/causal and
  // meaningless (kFull) for ff.
  const IciiaConfig& config() const { return config_; }

  // The leaf tensors the optimiser updates (in place: the module sees the updates).
  const std::vector<torch::Tensor>& parameters() const { return params_; }
  Attention attention() const { return attention_; }

 private:
  torch::Tensor embed(const torch::Tensor& x) const;
  torch::Tensor plinear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) const;

  IciiaConfig config_;
  Attention attention_;
  // Leaf tensors in IciiaModel::expected_tensors order and stored shapes:
  // per layer in_proj w/b, out_proj w/b, linear1 w/b, linear2 w/b, norm1
  // w/b, norm2 w/b; then classifier w/b.
  std::vector<std::string> names_;
  std::vector<torch::Tensor> params_;
  torch::Tensor embed_index_;  // [g*M] source column of each work column; d selects the zero pad
};

}  // namespace iciia::train
