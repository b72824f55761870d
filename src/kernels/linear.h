// Partitioned linear map, the projection used everywhere in ICIIA
// (docs/design.md, "ICIIA module"):
//
//   y[out_index(p, o)] = sum_i W[p][o][i] * x[p*m_in + i] + b[out_index(p, o)]
//   out_index(p, o) = shuffle ? o*g + p : p*m_out + o
//
// A dense nn.Linear is the g = 1 case. Weights are packed once at load into
// one of two layouts, picked by the shape:
//  - panels:     for few, wide partitions (g = 1 in particular): each
//                partition's W is cut into panels of 8 outputs, K-major, and run
//                by a 4x8 register-tiled GEMM microkernel (broadcast x, load 8 w);
//  - interleave: for many narrow partitions (ICIIA-T, m = 5): vectorise across
//                partitions instead, W stored as [o][i][p] and x transposed to
//                [i][p], so 4 partitions advance per instruction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

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

enum class Activation { kNone, kRelu };

class PackedLinear {
 public:
  enum class Layout { kPanels, kInterleave };
  static constexpr int kPanelWidth = 8;
  static constexpr int kPanelRows = 4;

  PackedLinear() = default;
  // weight: [g][m_out][m_in] (PyTorch layout), bias: [g*m_out] in output order.
  PackedLinear(const LinearShape& shape, std::span<const float> weight, std::span<const float> bias);

  const LinearShape& shape() const { return shape_; }
  Layout layout() const { return layout_; }
  size_t packed_floats() const { return packed_.size(); }

  // y[rows][out_features] = x[rows][in_features] . W^T + b, then the activation.
  // scratch: at least scratch_floats() floats (only the interleave layout uses it).
  void run(const float* x, int rows, float* y, Activation act, float* scratch) const;
  size_t scratch_floats() const;

 private:
  void run_panels(const float* x, int rows, float* y, Activation act) const;
  void run_interleave(const float* x, int rows, float* y, Activation act, float* scratch) const;

  LinearShape shape_;
  Layout layout_ = Layout::kPanels;
  int panels_per_group_ = 0;  // panels layout
  int groups_padded_ = 0;     // interleave layout: g rounded up to 4
  std::vector<float> packed_;
  std::vector<float> bias_;
};

namespace ref {
// Straight from the definition; the anchor the packed kernels are tested against.
void linear(const LinearShape& shape, const float* weight, const float* bias, const float* x, int rows,
            float* y, Activation act);
}  // namespace ref

}  // namespace iciia::kernels
