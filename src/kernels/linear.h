// Partitioned linear map, the projection used everywhere in ICIIA
// (docs/design.md, "ICIIA module"):
//
//   y[out_index(p, o)] = act(sum_i W[p][o][i] * x[p*m_in + i] + b[out_index(p, o)])
//   out_index(p, o) = shuffle ? o*g + p : p*m_out + o
//
// A dense nn.Linear is the g = 1 case. Weights are packed once at load into
// one of two layouts, picked by the shape:
//  - gemm:       for few, wide partitions (g = 1 in particular): one PackedGemm
//                (kernels/gemm.h) per partition, bias and activation in its
//                epilogue; shuffled outputs of g > 1 go through scratch;
//  - interleave: for many narrow partitions (ICIIA-T, m = 5): vectorise across
//                partitions instead, W stored per chunk of 4 partitions as
//                [p/4][o][i][4] and x transposed to match, so 4 partitions
//                advance per instruction. With m = 5 a partition's GEMM would
//                fill one register lane in eight. Rows go through in tiles of
//                8: each weight vector loaded serves the tile's rows, and
//                shuffled outputs are stored in place (o*g + p is contiguous
//                in p), with no scatter.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/activation.h"
#include "kernels/gemm.h"

namespace iciia::kernels {

struct LinearShape {
  int groups = 1;   // g
  int in_per_group = 0;   // m_in
  int out_per_group = 0;  // m_out
  bool shuffle = false;

  int in_features() const { return groups * in_per_group; }
  int out_features() const { return groups * out_per_group; }
  int out_index(int p, int o) const { return shuffle ? o * groups + p : p * out_per_group + o; }
};

class PackedLinear {
 public:
  enum class Layout { kGemm, kInterleave };

  PackedLinear() = default;
  // weight: [g][m_out][m_in] (PyTorch layout), bias: [g*m_out] in output
  // order; ep: the activation fused after the bias.
  PackedLinear(const LinearShape& shape, std::span<const float> weight, std::span<const float> bias,
               const Epilogue& ep = Epilogue::none());

  const LinearShape& shape() const { return shape_; }
  Layout layout() const { return layout_; }

  // y[rows][out_features] = act(x[rows][in_features] . W^T + b).
  // scratch: at least scratch_floats() floats.
  void run(const float* x, int rows, float* y, float* scratch) const;
  size_t scratch_floats() const;

 private:
  void run_interleave(const float* x, int rows, float* y, float* scratch) const;

  LinearShape shape_;
  Epilogue ep_;
  Layout layout_ = Layout::kGemm;
  std::vector<PackedGemm> gemms_;  // gemm layout: one per partition
  int groups_padded_ = 0;          // interleave layout: g rounded up to 4
  std::vector<float> packed_;      // interleave layout: [g_padded/4][o][i][4]
  std::vector<float> bias_;        // interleave layout: [g_padded/4][o][4]
};

namespace ref {
// Straight from the definition; the anchor the packed kernels are tested against.
void linear(const LinearShape& shape, const float* weight, const float* bias, const float* x, int rows,
            float* y, const Epilogue& ep);
}  // namespace ref

}  // namespace iciia::kernels
