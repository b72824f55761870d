#include "train/iciia/iciia_net.h"

#include <cmath>
#include <limits>

#include <ATen/CPUGeneratorImpl.h>

#include "safetensors/safetensors.h"
#include "util/error.h"

namespace iciia::train {

namespace {

constexpr int kTensorsPerLayer = 12;

// y = x W^T + b on the last axis. Debian's libtorch does dense matmuls in the
// reference BLAS; oneDNN's linear (with autograd) is 10-16x faster on it.
torch::Tensor dense_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (!torch::hasMKLDNN()) return torch::linear(x, w, b);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = w.size(0);
  return torch::mkldnn_linear(x.reshape({-1, x.size(-1)}).to_mkldnn(), w, b).to_dense().reshape(shape);
}

}  // namespace

IciiaNet::IciiaNet(const IciiaConfig& config, Attention attention, at::Generator generator)
    : config_(config), attention_(attention) {
  config_.attention = attention == Attention::kCausal ? AttentionMode::kCausal : AttentionMode::kFull;
  const auto expected = IciiaModel::expected_tensors(config_);  // validates the config
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& t = expected[i];
    torch::Tensor p = torch::empty(t.shape, torch::kFloat32);
    const int64_t fan_in = t.shape.size() > 1 ? t.shape.back() : 0;
    const bool classifier = i + 2 >= expected.size();
    const size_t slot = i % kTensorsPerLayer;  // position inside a layer's 12
    if (classifier) {
      // nn.Linear: kaiming_uniform(a=sqrt(5)) reduces to U(+-1/sqrt(fan_in)), bias alike.
      const double bound = 1.0 / std::sqrt(static_cast<double>(config_.work_dim()));
      p.uniform_(-bound, bound, generator);
    } else if (slot == 0) {
      // MultiheadAttention: xavier_uniform on in_proj, per partition here
      // (fan_in m, fan_out 3m), which for g = 1 is PyTorch's exact rule.
      const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + 3 * fan_in));
      p.uniform_(-bound, bound, generator);
    } else if (slot == 1 || slot == 3) {
      p.zero_();  // MultiheadAttention zeroes in_proj_bias and out_proj.bias
    } else if (slot == 2 || slot == 4 || slot == 6) {
      p.uniform_(-1.0 / std::sqrt(static_cast<double>(fan_in)), 1.0 / std::sqrt(static_cast<double>(fan_in)), generator);
    } else if (slot == 5 || slot == 7) {
      const int64_t m = config_.partition_size();  // the fan-in of the Linear this bias belongs to
      p.uniform_(-1.0 / std::sqrt(static_cast<double>(m)), 1.0 / std::sqrt(static_cast<double>(m)), generator);
    } else {
      p.fill_(slot % 2 == 0 ? 1.f : 0.f);  // LayerNorm: weight 1, bias 0
    }
    p.set_requires_grad(true);
    names_.push_back(t.name);
    params_.push_back(p);
  }
  if (config_.dim != config_.work_dim()) {
    // Work column p*M + i holds feature partition_begin(p) + i while i is
    // inside partition p, else the appended zero column (index d).
    const int g = config_.num_partitions, M = config_.partition_size();
    std::vector<int64_t> index(static_cast<size_t>(g) * M, config_.dim);
    for (int p = 0; p < g; ++p)
      for (int i = 0; i < config_.partition_begin(p + 1) - config_.partition_begin(p); ++i)
        index[static_cast<size_t>(p) * M + i] = config_.partition_begin(p) + i;
    embed_index_ = torch::tensor(index, torch::kInt64);
  }
}

IciiaNet IciiaNet::load(const std::string& path) {
  const Safetensors file = Safetensors::read_file(path);
  // The runtime's loader is the one definition of a valid weights file.
  const IciiaConfig config = IciiaModel::load(file)->config();
  // Every parameter is overwritten below: the initialisation seed is moot.
  IciiaNet net(config, config.attention == AttentionMode::kCausal ? Attention::kCausal : Attention::kFull,
               at::detail::createCPUGenerator(0));
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < net.names_.size(); ++i) {
    std::vector<float> data = file.to_f32(file.get(net.names_[i]));
    net.params_[i].copy_(torch::from_blob(data.data(), net.params_[i].sizes(), torch::kFloat32));
  }
  return net;
}

torch::Tensor IciiaNet::embed(const torch::Tensor& x) const {
  if (!embed_index_.defined()) return x;
  const torch::Tensor padded = torch::cat({x, torch::zeros_like(x.narrow(-1, 0, 1))}, -1);
  return padded.index_select(-1, embed_index_);
}

// Partitioned projection (docs/design.md, "ICIIA module") on the last axis; g = 1 is a plain
// nn.Linear (shuffle is the identity then).
torch::Tensor IciiaNet::plinear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) const {
  const int64_t g = config_.num_partitions, mo = w.size(-2), mi = w.size(-1);
  if (g == 1) return dense_linear(x, w, b);
  std::vector<int64_t> out_shape = x.sizes().vec();
  out_shape.back() = g * mo;
  const torch::Tensor xs = x.reshape({-1, g, mi}).transpose(0, 1);      // [g, N, mi]
  torch::Tensor y = torch::bmm(xs, w.transpose(1, 2));                  // [g, N, mo]
  y = config_.shuffle ? y.permute({1, 2, 0}) : y.transpose(0, 1);       // [N, mo, g] : [N, g, mo]
  return y.reshape(out_shape) + b;
}

torch::Tensor IciiaNet::forward(const torch::Tensor& x, double dropout, std::optional<at::Generator> generator) const {
  if (x.dim() != 3 || x.size(2) != config_.dim)
    throw Error(ErrorCode::kShape, "ICIIA forward: input must be [batch, sequence, " + std::to_string(config_.dim) +
                                       "], got rank " + std::to_string(x.dim()));
  const int64_t B = x.size(0), S = x.size(1), D = config_.work_dim(), H = config_.num_heads, dh = D / H;
  // Inverted dropout drawn from the caller's generator.
  auto drop = [&](const torch::Tensor& t) {
    if (!generator || dropout <= 0) return t;
    return t * torch::empty_like(t).bernoulli_(1 - dropout, *generator) / (1 - dropout);
  };
  torch::Tensor h = embed(x.to(torch::kFloat32));
  torch::Tensor mask;
  if (attention_ == Attention::kCausal)
    mask = torch::full({S, S}, -std::numeric_limits<float>::infinity()).triu(1);
  for (int l = 0; l < config_.num_layers; ++l) {
    const torch::Tensor* p = &params_[static_cast<size_t>(l) * kTensorsPerLayer];
    const torch::Tensor qkv = plinear(h, p[0], p[1]);  // [B, S, 3D]
    torch::Tensor v = qkv.narrow(-1, 2 * D, D), a;
    if (attention_ == Attention::kFf) {
      a = v;  // softmax over a single key is 1
    } else {
      auto heads = [&](int64_t at) { return qkv.narrow(-1, at, D).reshape({B, S, H, dh}).transpose(1, 2); };
      torch::Tensor scores = torch::matmul(heads(0), heads(D).transpose(-2, -1)) / std::sqrt(static_cast<double>(dh));
      if (mask.defined()) scores = scores + mask;
      a = torch::matmul(drop(torch::softmax(scores, -1)), heads(2 * D)).transpose(1, 2).reshape({B, S, D});
    }
    h = torch::layer_norm(h + drop(plinear(a, p[2], p[3])), {D}, p[8], p[9], IciiaModel::kLayerNormEps);
    const torch::Tensor ff = plinear(drop(torch::relu(plinear(h, p[4], p[5]))), p[6], p[7]);
    h = torch::layer_norm(h + drop(ff), {D}, p[10], p[11], IciiaModel::kLayerNormEps);
  }
  return dense_linear(torch::relu(h), params_[params_.size() - 2], params_.back());
}

void IciiaNet::save(const std::string& path) const {
  IciiaConfig config = config_;
  config.attention = runtime_attention(attention_);
  SafetensorsWriter writer;
  for (const auto& [key, value] : config.to_metadata()) writer.set_metadata(key, value);
  for (const auto& t : named_tensors()) writer.add_f32(t.name, t.shape, t.data);
  writer.write_file(path);
}

std::vector<NamedTensor> IciiaNet::named_tensors() const {
  std::vector<NamedTensor> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const torch::Tensor t = params_[i].detach().contiguous();
    out.push_back({names_[i], t.sizes().vec(), std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())});
  }
  return out;
}

}  // namespace iciia::train
