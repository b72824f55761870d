// The ICIIA module (docs/design.md, "ICIIA module"): L post-norm transformer
// encoder layers with partitioned projections, then Classifier(ReLU(x)).
//
// An IciiaModel is immutable once loaded (weights packed for the kernels), so
// one model can serve any number of sessions.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "iciia/config.h"
#include "kernels/linear.h"
#include "safetensors/safetensors.h"

namespace iciia {

struct IciiaLayer {
  kernels::PackedLinear in_proj;   // D -> 3D: q, k, v
  kernels::PackedLinear out_proj;  // D -> D
  kernels::PackedLinear linear1;   // D -> D, ReLU fused (its epilogue)
  kernels::PackedLinear linear2;   // D -> D
  std::vector<float> norm1_weight, norm1_bias, norm2_weight, norm2_bias;
};

// Host-side (unpacked) weights under their state_dict names, in the order of
// expected_tensors(); used to write weights files and by tests.
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

class IciiaModel {
 public:
  static constexpr float kLayerNormEps = 1e-5f;

  // Validates every expected tensor (present, float dtype, exact shape,
  // finite values) and rejects any unexpected one; errors name the tensor.
  static std::shared_ptr<const IciiaModel> load(const Safetensors& file);
  static std::shared_ptr<const IciiaModel> load(std::span<const uint8_t> bytes);
  static std::shared_ptr<const IciiaModel> load_file(const std::string& path);
  // From tensors already in memory (named as in the file); same checks.
  static std::shared_ptr<const IciiaModel> from_tensors(const IciiaConfig& config,
                                                        const std::vector<NamedTensor>& tensors);

  // The state_dict names and shapes a weights file for `config` must hold.
  static std::vector<NamedTensor> expected_tensors(const IciiaConfig& config);

  const IciiaConfig& config() const { return config_; }
  int work_dim() const { return config_.work_dim(); }

  // The feature vector (d values) laid out in the encoder's width, partition
  // by partition, zero-padded when d % g != 0.
  void embed(const float* feature, float* out) const;

  // Logits of every position of one sequence x[S][d] -> logits[S][C], with the
  // model's own attention mode: the paper's semantics, everything recomputed.
  // last_attention, if given, receives the last position's attention weights
  // over positions 0..S-2, averaged over heads and layers.
  void forward(std::span<const float> x, int seq_len, std::span<float> logits,
               std::vector<float>* last_attention = nullptr) const;
  // Same on already-embedded rows xe[S][D]; only the last `out_rows` rows get logits.
  void forward_embedded(const float* xe, int seq_len, int out_rows, float* logits,
                        std::vector<float>* last_attention) const;

  // Pieces the incremental session shares with forward().
  const std::vector<IciiaLayer>& layers() const { return layers_; }
  const kernels::PackedLinear& classifier() const { return classifier_; }
  size_t linear_scratch_floats() const { return linear_scratch_; }

 private:
  IciiaModel() = default;
  IciiaConfig config_;
  std::vector<IciiaLayer> layers_;
  kernels::PackedLinear classifier_;
  size_t linear_scratch_ = 0;
};

// x <- LayerNorm2(x + FFN(LayerNorm1(x + OutProj(attn)))) for `rows` rows of
// width D. tmp and ff: rows*D floats each.
void finish_layer(const IciiaLayer& layer, int width, int rows, float* x, const float* attn, float* tmp, float* ff,
                  float* scratch);

}  // namespace iciia
