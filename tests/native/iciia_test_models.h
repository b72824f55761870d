// Random-weight ICIIA models for tests, built through the same loader path
// as a weights file.
#pragma once

#include <memory>

#include "iciia/model.h"
#include "safetensors/safetensors.h"
#include "test_support.h"

namespace iciia::test {

inline std::vector<NamedTensor> random_tensors(const IciiaConfig& config, uint32_t seed) {
  auto tensors = IciiaModel::expected_tensors(config);
  for (auto& t : tensors) {
    size_t n = 1;
    for (auto d : t.shape) n *= static_cast<size_t>(d);
    const bool is_norm_weight = t.name.find("norm") != std::string::npos && t.name.ends_with(".weight");
    const float fan_in = t.shape.size() > 1 ? static_cast<float>(t.shape.back()) : 1.f;
    const float r = is_norm_weight ? 0.2f : 1.f / std::sqrt(fan_in);
    t.data = random_floats(n, seed++, -r, r);
    if (is_norm_weight)
      for (auto& v : t.data) v += 1.f;
  }
  return tensors;
}

inline std::vector<uint8_t> weights_file(const IciiaConfig& config, const std::vector<NamedTensor>& tensors) {
  SafetensorsWriter w;
  for (const auto& [k, v] : config.to_metadata()) w.set_metadata(k, v);
  for (const auto& t : tensors) w.add_f32(t.name, t.shape, t.data);
  return w.serialize();
}

inline std::shared_ptr<const IciiaModel> random_model(const IciiaConfig& config, uint32_t seed = 1) {
  return IciiaModel::load(weights_file(config, random_tensors(config, seed)));
}

inline IciiaConfig make_config(int dim, int classes, int heads, int layers, int partitions, bool shuffle,
                               AttentionMode attention) {
  IciiaConfig c;
  c.dim = dim;
  c.num_classes = classes;
  c.num_heads = heads;
  c.num_layers = layers;
  c.num_partitions = partitions;
  c.shuffle = shuffle;
  c.attention = attention;
  return c;
}

}  // namespace iciia::test
