// The compact backbone CNN (libtorch) and its ONNX export.
//
// Blocks of conv 3x3 (pad 1, no bias) + BatchNorm + ReLU, some followed by a
// 2x2 max-pool; global average pool; a feature layer (Linear + ReLU, width
// feature_dim: the `features` ICIIA attends over); the classifier (Linear).
#pragma once

#include <torch/torch.h>

#include <utility>
#include <vector>

#include "onnx/onnx_model.h"
#include "pipeline/bundle.h"

namespace iciia::train {

struct CnnConfig {
  int in_channels = 1, height = 28, width = 28;
  std::vector<int> channels = {32, 64, 64, 128};
  std::vector<bool> pool_after = {true, false, true, false};
  int feature_dim = 128;
  int num_classes = 10;
};

class CnnImpl : public torch::nn::Module {
 public:
  explicit CnnImpl(CnnConfig config);
  // {features [N, feature_dim], logits [N, num_classes]}
  std::pair<torch::Tensor, torch::Tensor> forward(torch::Tensor x);
  const CnnConfig& config() const { return config_; }

 private:
  friend OnnxModel export_onnx(CnnImpl& model, const BackboneInfo& info);
  CnnConfig config_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> norms_;
  torch::nn::Linear fc_{nullptr}, classifier_{nullptr};
};
TORCH_MODULE(Cnn);

// Opset 13, input `info.input` [1, C, H, W], graph outputs `info.features`
// and `info.logits`; BatchNorm folded into the conv weights (eval-mode
// statistics); `info` is also stored as the model's "iciia.backbone" metadata.
OnnxModel export_onnx(CnnImpl& model, const BackboneInfo& info);

// Runs the exported bytes with the core engine on each image of `images`
// [N, C, H, W] and returns the largest |engine - libtorch (eval)| over
// logits and features.
double max_engine_difference(CnnImpl& model, std::span<const uint8_t> onnx, const BackboneInfo& info,
                             const torch::Tensor& images);

}  // namespace iciia::train
