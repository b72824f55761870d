#include "iciia/model.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "kernels/ops.h"
#include "util/error.h"
#include "util/text.h"

namespace iciia {

namespace {

std::string config_str(const IciiaConfig& c) {
  return "dim=" + std::to_string(c.dim) + ", num_partitions=" + std::to_string(c.num_partitions) +
         ", num_classes=" + std::to_string(c.num_classes);
}

bool is_float_dtype(SafetensorsDType t) { return t == SafetensorsDType::kF32 || t == SafetensorsDType::kF16 || t == SafetensorsDType::kBF16 || t == SafetensorsDType::kF64; }

// Names of one layer's tensors, in a fixed order: in_proj w/b, out_proj w/b,
// linear1 w/b, linear2 w/b, norm1 w/b, norm2 w/b.
std::vector<std::string> layer_tensor_names(const IciiaConfig& c, int l) {
  const std::string base = "encoder.layers." + std::to_string(l) + ".";
  if (c.num_partitions == 1) {
    const std::string p = base + "encoder_layers.0.";
    return {p + "self_attn.in_proj_weight", p + "self_attn.in_proj_bias", p + "self_attn.out_proj.weight",
            p + "self_attn.out_proj.bias",  p + "linear1.weight",         p + "linear1.bias",
            p + "linear2.weight",           p + "linear2.bias",           p + "norm1.weight",
            p + "norm1.bias",               p + "norm2.weight",           p + "norm2.bias"};
  }
  return {base + "self_attn.in_proj_weight", base + "self_attn.in_proj_bias", base + "self_attn.out_proj_weight",
          base + "self_attn.out_proj_bias",  base + "linear1.weight",         base + "linear1.bias",
          base + "linear2.weight",           base + "linear2.bias",           base + "norm1.weight",
          base + "norm1.bias",               base + "norm2.weight",           base + "norm2.bias"};
}

}  // namespace

std::vector<NamedTensor> IciiaModel::expected_tensors(const IciiaConfig& c) {
  c.validate();
  const int64_t g = c.num_partitions, m = c.partition_size(), D = c.work_dim();
  // g = 1 is torch.nn.TransformerEncoderLayer: 2-D weights.
  auto wshape = [&](int64_t out_per_group) -> std::vector<int64_t> {
    if (g == 1) return {out_per_group, m};
    return {g, out_per_group, m};
  };
  std::vector<NamedTensor> out;
  for (int l = 0; l < c.num_layers; ++l) {
    const auto names = layer_tensor_names(c, l);
    const std::vector<std::vector<int64_t>> shapes = {wshape(3 * m), {3 * D}, wshape(m), {D}, wshape(m), {D},
                                                      wshape(m),     {D},     {D},       {D}, {D},       {D}};
    for (size_t i = 0; i < names.size(); ++i) out.push_back({names[i], shapes[i], {}});
  }
  out.push_back({"classifier.weight", {c.num_classes, D}, {}});
  out.push_back({"classifier.bias", {c.num_classes}, {}});
  return out;
}

std::shared_ptr<const IciiaModel> IciiaModel::load(const Safetensors& file) {
  const IciiaConfig config = IciiaConfig::from_metadata(file.metadata());
  std::vector<NamedTensor> tensors = expected_tensors(config);
  std::set<std::string> expected_names;
  for (auto& t : tensors) {
    expected_names.insert(t.name);
    const TensorInfo* info = file.find(t.name);
    if (!info)
      throw Error(ErrorCode::kFormat, "ICIIA weights: missing tensor '" + t.name + "' (expected shape " +
                                          dims_string(t.shape) + " for " + config_str(config) + ")");
    if (!is_float_dtype(info->dtype))
      throw Error(ErrorCode::kFormat, "ICIIA weights: tensor '" + t.name + "' has dtype " + dtype_name(info->dtype) +
                                          ", expected a float type (F32, F16, BF16 or F64)");
    if (info->shape != t.shape)
      throw Error(ErrorCode::kShape, "ICIIA weights: tensor '" + t.name + "' has shape " + dims_string(info->shape) +
                                         ", expected " + dims_string(t.shape) + " for " + config_str(config));
    t.data = file.to_f32(*info);
  }
  for (const auto& info : file.tensors())
    if (!expected_names.count(info.name))
      throw Error(ErrorCode::kFormat, "ICIIA weights: unexpected tensor '" + info.name + "' for " +
                                          config_str(config) + ", num_layers=" + std::to_string(config.num_layers));
  return from_tensors(config, tensors);
}

std::shared_ptr<const IciiaModel> IciiaModel::load(std::span<const uint8_t> bytes) {
  return load(Safetensors::parse(bytes));
}

std::shared_ptr<const IciiaModel> IciiaModel::load_file(const std::string& path) {
  return load(Safetensors::read_file(path));
}

std::shared_ptr<const IciiaModel> IciiaModel::from_tensors(const IciiaConfig& config,
                                                           const std::vector<NamedTensor>& tensors) {
  const auto expected = expected_tensors(config);
  std::unordered_map<std::string, const NamedTensor*> by_name;
  for (const auto& t : tensors) by_name[t.name] = &t;
  auto take = [&](const NamedTensor& want) -> std::span<const float> {
    auto it = by_name.find(want.name);
    if (it == by_name.end()) throw Error(ErrorCode::kFormat, "ICIIA weights: missing tensor '" + want.name + "'");
    const NamedTensor& t = *it->second;
    size_t numel = 1;
    for (auto d : want.shape) numel *= static_cast<size_t>(d);
    if (t.data.size() != numel)
      throw Error(ErrorCode::kShape, "ICIIA weights: tensor '" + want.name + "' has " + std::to_string(t.data.size()) +
                                         " values, expected " + std::to_string(numel) + " " + dims_string(want.shape));
    for (size_t i = 0; i < t.data.size(); ++i)
      if (!std::isfinite(t.data[i]))
        throw Error(ErrorCode::kFormat, "ICIIA weights: tensor '" + want.name + "' has a non-finite value (" +
                                            std::to_string(t.data[i]) + ") at flat index " + std::to_string(i));
    return t.data;
  };

  std::shared_ptr<IciiaModel> model(new IciiaModel());
  model->config_ = config;
  const int g = config.num_partitions, m = config.partition_size(), D = config.work_dim();
  using kernels::LinearShape;
  using kernels::PackedLinear;
  const LinearShape in_shape{g, m, 3 * m, config.shuffle}, sq_shape{g, m, m, config.shuffle};
  size_t e = 0;
  for (int l = 0; l < config.num_layers; ++l) {
    IciiaLayer layer;
    auto next = [&]() { return take(expected[e++]); };
    auto w = next();
    layer.in_proj = PackedLinear(in_shape, w, next());
    w = next();
    layer.out_proj = PackedLinear(sq_shape, w, next());
    w = next();
    layer.linear1 = PackedLinear(sq_shape, w, next(), kernels::Epilogue::relu());
    w = next();
    layer.linear2 = PackedLinear(sq_shape, w, next());
    auto vec = [&]() {
      auto s = next();
      return std::vector<float>(s.begin(), s.end());
    };
    layer.norm1_weight = vec();
    layer.norm1_bias = vec();
    layer.norm2_weight = vec();
    layer.norm2_bias = vec();
    for (const auto* pl : {&layer.in_proj, &layer.out_proj, &layer.linear1, &layer.linear2})
      model->linear_scratch_ = std::max(model->linear_scratch_, pl->scratch_floats());
    model->layers_.push_back(std::move(layer));
  }
  auto cw = take(expected[e++]);
  model->classifier_ = PackedLinear(LinearShape{1, D, config.num_classes, false}, cw, take(expected[e++]));
  model->linear_scratch_ = std::max(model->linear_scratch_, model->classifier_.scratch_floats());
  return model;
}

void IciiaModel::embed(const float* feature, float* out) const {
  const int g = config_.num_partitions, m = config_.partition_size();
  // d a multiple of g: no padding, the embedding is the feature itself (one
  // copy instead of g short ones; a start-up embeds every stored row).
  if (config_.work_dim() == config_.dim) {
    std::copy_n(feature, config_.dim, out);
    return;
  }
  for (int p = 0; p < g; ++p) {
    const int lo = config_.partition_begin(p), hi = config_.partition_begin(p + 1);
    int i = 0;
    for (; i < hi - lo; ++i) out[p * m + i] = feature[lo + i];
    for (; i < m; ++i) out[p * m + i] = 0.f;
  }
}

void finish_layer(const IciiaLayer& layer, int width, int rows, float* x, const float* attn, float* tmp, float* ff,
                  float* scratch) {
  const float eps = IciiaModel::kLayerNormEps;
  layer.out_proj.run(attn, rows, tmp, scratch);
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<size_t>(r) * width;
    kernels::add_layernorm(xr, tmp + static_cast<size_t>(r) * width, layer.norm1_weight.data(),
                           layer.norm1_bias.data(), xr, width, eps);
  }
  layer.linear1.run(x, rows, ff, scratch);
  layer.linear2.run(ff, rows, tmp, scratch);
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<size_t>(r) * width;
    kernels::add_layernorm(xr, tmp + static_cast<size_t>(r) * width, layer.norm2_weight.data(),
                           layer.norm2_bias.data(), xr, width, eps);
  }
}

void IciiaModel::forward(std::span<const float> x, int seq_len, std::span<float> logits,
                         std::vector<float>* last_attention) const {
  const int d = config_.dim, C = config_.num_classes, D = work_dim();
  if (seq_len < 1)
    throw Error(ErrorCode::kInvalidArgument, "ICIIA forward: the sequence is empty (expected at least one row)");
  if (x.size() != static_cast<size_t>(seq_len) * d)
    throw Error(ErrorCode::kInvalidArgument, "ICIIA forward: input has " + std::to_string(x.size()) +
                                                 " values, expected seq_len * dim = " + std::to_string(seq_len) +
                                                 " * " + std::to_string(d));
  if (logits.size() != static_cast<size_t>(seq_len) * C)
    throw Error(ErrorCode::kInvalidArgument, "ICIIA forward: output has room for " + std::to_string(logits.size()) +
                                                 " values, expected seq_len * num_classes");
  std::vector<float> xe(static_cast<size_t>(seq_len) * D);
  for (int s = 0; s < seq_len; ++s) embed(x.data() + static_cast<size_t>(s) * d, xe.data() + static_cast<size_t>(s) * D);
  forward_embedded(xe.data(), seq_len, seq_len, logits.data(), last_attention);
}

void IciiaModel::forward_embedded(const float* xe, int S, int out_rows, float* logits,
                                  std::vector<float>* last_attention) const {
  const int D = work_dim(), H = config_.num_heads, dh = config_.head_dim();
  const size_t rowsD = static_cast<size_t>(S) * D;
  std::vector<float> x(xe, xe + rowsD), qkv(3 * rowsD), attn(rowsD), tmp(rowsD), ff(rowsD), probs(S),
      scratch(linear_scratch_);
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  const bool causal = config_.attention == AttentionMode::kCausal;
  if (last_attention) last_attention->assign(S - 1, 0.f);
  const float avg = 1.f / (static_cast<float>(H) * config_.num_layers);

  for (const auto& layer : layers_) {
    layer.in_proj.run(x.data(), S, qkv.data(), scratch.data());
    for (int i = 0; i < S; ++i) {
      const int n = causal ? i + 1 : S;
      const float* row = qkv.data() + static_cast<size_t>(i) * 3 * D;
      for (int h = 0; h < H; ++h) {
        kernels::attention_head(row + h * dh, qkv.data() + D + h * dh, qkv.data() + 2 * D + h * dh, n, 3 * D, dh,
                                scale, probs.data(), attn.data() + static_cast<size_t>(i) * D + h * dh);
        if (last_attention && i == S - 1)
          for (int s = 0; s + 1 < S; ++s) (*last_attention)[s] += probs[s] * avg;
      }
    }
    finish_layer(layer, D, S, x.data(), attn.data(), tmp.data(), ff.data(), scratch.data());
  }
  const float* last = x.data() + static_cast<size_t>(S - out_rows) * D;
  std::copy(last, last + static_cast<size_t>(out_rows) * D, tmp.begin());
  kernels::relu(tmp.data(), out_rows * D);
  classifier_.run(tmp.data(), out_rows, logits, scratch.data());
}

}  // namespace iciia
