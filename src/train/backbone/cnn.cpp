#include "train/backbone/cnn.h"

#include <algorithm>
#include <cmath>

#include "engine/engine.h"
#include "onnx/onnx_writer.h"
#include "util/error.h"

namespace iciia::train {

namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

CnnImpl::CnnImpl(CnnConfig config) : config_(std::move(config)) {
  if (config_.channels.empty() || config_.pool_after.size() != config_.channels.size())
    throw Error(ErrorCode::kInvalidArgument, "cnn: need one pool_after flag per block");
  int in = config_.in_channels;
  for (size_t i = 0; i < config_.channels.size(); ++i) {
    const int out = config_.channels[i];
    convs_.push_back(register_module("conv" + std::to_string(i),
                                     torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false))));
    norms_.push_back(register_module("bn" + std::to_string(i), torch::nn::BatchNorm2d(out)));
    in = out;
  }
  fc_ = register_module("fc", torch::nn::Linear(in, config_.feature_dim));
  classifier_ = register_module("classifier", torch::nn::Linear(config_.feature_dim, config_.num_classes));
}

std::pair<torch::Tensor, torch::Tensor> CnnImpl::forward(torch::Tensor x) {
  for (size_t i = 0; i < convs_.size(); ++i) {
    x = torch::relu(norms_[i]->forward(convs_[i]->forward(x)));
    if (config_.pool_after[i]) x = torch::max_pool2d(x, 2, 2);
  }
  torch::Tensor features = torch::relu(fc_->forward(x.mean({2, 3})));
  return {features, classifier_->forward(features)};
}

OnnxModel export_onnx(CnnImpl& model, const BackboneInfo& info) {
  using namespace onnx_build;
  torch::NoGradGuard no_grad;
  const CnnConfig& c = model.config_;
  OnnxGraph g;
  g.name = "iciia_cnn";
  g.inputs.push_back(value_info(info.input, OnnxDataType::kFloat, {1, c.in_channels, c.height, c.width}));
  std::string x = info.input;
  for (size_t i = 0; i < model.convs_.size(); ++i) {
    const std::string id = std::to_string(i);
    // Folded in double: w' = w * g / sqrt(var + eps), b' = beta - mean * g / sqrt(var + eps).
    auto& bn = *model.norms_[i];
    const torch::Tensor scale =
        bn.weight.to(torch::kFloat64) / torch::sqrt(bn.running_var.to(torch::kFloat64) + bn.options.eps());
    const torch::Tensor w = model.convs_[i]->weight.to(torch::kFloat64) * scale.view({-1, 1, 1, 1});
    const torch::Tensor b = bn.bias.to(torch::kFloat64) - bn.running_mean.to(torch::kFloat64) * scale;
    const std::vector<float> wv = to_vector(w), bv = to_vector(b);
    g.initializers.push_back(float_tensor("conv" + id + ".weight", w.sizes().vec(), wv));
    g.initializers.push_back(float_tensor("conv" + id + ".bias", {b.size(0)}, bv));
    g.nodes.push_back(node("Conv", {x, "conv" + id + ".weight", "conv" + id + ".bias"}, {"conv" + id},
                           {attr_ints("kernel_shape", {3, 3}), attr_ints("pads", {1, 1, 1, 1})}, "conv" + id));
    g.nodes.push_back(node("Relu", {"conv" + id}, {"relu" + id}, {}, "relu" + id));
    x = "relu" + id;
    if (c.pool_after[i]) {
      g.nodes.push_back(node("MaxPool", {x}, {"pool" + id},
                             {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})}, "pool" + id));
      x = "pool" + id;
    }
  }
  g.nodes.push_back(node("GlobalAveragePool", {x}, {"gap"}, {}, "gap"));
  g.nodes.push_back(node("Flatten", {"gap"}, {"gap_flat"}, {attr_int("axis", 1)}, "flatten"));
  auto linear = [&](torch::nn::Linear& l, const std::string& name, const std::string& in, const std::string& out) {
    const std::vector<float> wv = to_vector(l->weight), bv = to_vector(l->bias);
    g.initializers.push_back(float_tensor(name + ".weight", l->weight.sizes().vec(), wv));
    g.initializers.push_back(float_tensor(name + ".bias", {l->bias.size(0)}, bv));
    g.nodes.push_back(node("Gemm", {in, name + ".weight", name + ".bias"}, {out}, {attr_int("transB", 1)}, name));
  };
  linear(model.fc_, "fc", "gap_flat", "fc");
  g.nodes.push_back(node("Relu", {"fc"}, {info.features}, {}, "fc_relu"));
  linear(model.classifier_, "classifier", info.features, info.logits);
  g.outputs.push_back(value_info(info.features, OnnxDataType::kFloat, {1, c.feature_dim}));
  g.outputs.push_back(value_info(info.logits, OnnxDataType::kFloat, {1, c.num_classes}));
  OnnxModel m = onnx_build::model(std::move(g), 13);
  m.metadata_props.emplace_back(kBackboneMetadataKey, backbone_metadata(info));
  return m;
}

double max_engine_difference(CnnImpl& model, std::span<const uint8_t> onnx, const BackboneInfo& info,
                             const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto [features, logits] = model.forward(images);
  if (was_training) model.train();
  engine::EngineOptions options;
  options.input_dims = {1, images.size(1), images.size(2), images.size(3)};
  engine::Engine e = engine::Engine::load(onnx, options);
  double worst = 0;
  for (int64_t i = 0; i < images.size(0); ++i) {
    e.run(to_vector(images[i]));
    for (const auto& [name, want] : {std::pair{info.features, to_vector(features[i])},
                                     std::pair{info.logits, to_vector(logits[i])}}) {
      const std::vector<float> got = e.read(name);
      for (size_t k = 0; k < got.size(); ++k) worst = std::max(worst, std::abs(double(got[k]) - want[k]));
    }
  }
  return worst;
}

}  // namespace iciia::train
