// The GEMM behind 1x1 convolutions, im2col / indirect convolutions and Gemm
// layers: y[m][n] = act(a[m][k] . W[n][k]^T + bias (+ residual)).
//
// Weights are packed once into panels of kGemmNR = 8 output columns, each
// [bias 8][k][8] (K-major, the bias folded in front, columns past n zero). The
// microkernel f32_igemm_MRx8 keeps an MR x 8 tile of sums in registers
// (2*MR vectors); per k it loads the panel's 8 weights (2 vectors) and
// broadcasts one value of each of its MR rows of `a` (XNNPACK's "loadsplat"
// scheme; the variant that loads 4 k values of a row and splats them by
// shuffles measured 10-25% slower, under V8 and natively). It reads its rows
// through pointers (XNNPACK's "indirect GEMM": for a convolution each pointer
// is one input pixel of one kernel tap, padding taps point at a zero row), and
// fuses bias, residual and activation into its store. MR is 1..6; callers
// block rows by the tile height (gemm_default_tile_rows(): 4 in WebAssembly,
// 6 natively, see gemm.cpp).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "kernels/activation.h"
#include "kernels/parallel.h"

namespace iciia::kernels {

constexpr int kGemmNR = 8;
constexpr int kGemmMaxRows = 6;
// Tile height used when the caller passes 0.
int gemm_default_tile_rows();

struct GemmPanels {
  int k = 0;  // reduction length
  int n = 0;  // output columns
  std::vector<float> data;

  int panels() const { return (n + kGemmNR - 1) / kGemmNR; }
  size_t panel_stride() const { return kGemmNR + static_cast<size_t>(k) * kGemmNR; }
  const float* panel(int p) const { return data.data() + p * panel_stride(); }
};

// w(j, i): weight of output column j < n for reduction index i < k.
// bias: n floats, or null for zeros.
template <class WeightAt>
GemmPanels pack_gemm_panels(int n, int k, WeightAt w, const float* bias) {
  GemmPanels p;
  p.n = n;
  p.k = k;
  p.data.assign(static_cast<size_t>(p.panels()) * p.panel_stride(), 0.f);
  for (int pn = 0; pn < p.panels(); ++pn) {
    float* dst = p.data.data() + pn * p.panel_stride();
    for (int c = 0; c < kGemmNR && pn * kGemmNR + c < n; ++c) {
      const int j = pn * kGemmNR + c;
      dst[c] = bias ? bias[j] : 0.f;
      for (int i = 0; i < k; ++i) dst[kGemmNR + static_cast<size_t>(i) * kGemmNR + c] = w(j, i);
    }
  }
  return p;
}

// One block of `rows` (1..kGemmMaxRows) output rows, the columns of panels
// [p0, p1) (p1 < 0: to the last), at their own offsets in c.
// a: ks * rows pointers, tap-major (a[t * rows + r]), each to kc contiguous
// floats; w.k must equal ks * kc. c row r at c + r * ldc, residual (nullable)
// row r at residual + r * ldr; residual may alias c.
void igemm_block(int rows, int ks, int kc, const float* const* a, const GemmPanels& w, float* c, size_t ldc,
                 const float* residual, size_t ldr, const Epilogue& ep, int p0 = 0, int p1 = -1);

// Dense GEMM with packed weights: the Gemm / MatMul layer and the 1x1 conv.
class PackedGemm {
 public:
  PackedGemm() = default;
  // weight: [n][k] row-major (ONNX Gemm with transB = 1, or a 1x1 Conv's
  // [out_c][in_c]); bias: n floats or empty for zeros.
  PackedGemm(int k, int n, std::span<const float> weight, std::span<const float> bias, const Epilogue& ep);

  int k() const { return w_.k; }
  int n() const { return w_.n; }
  const Epilogue& epilogue() const { return ep_; }

  // c[m][n] (row stride ldc) = act(a[m][k] (row stride lda) . W^T + bias + residual).
  // tile_rows: 1..kGemmMaxRows, 0 = gemm_default_tile_rows(). A single row
  // (m = 1) takes a GEMV kernel whatever the tile height. Rows (or, for one
  // row, output columns) are spread over par.
  void run(const float* a, int m, size_t lda, float* c, size_t ldc, const float* residual = nullptr,
           size_t ldr = 0, int tile_rows = 0, const Parallel& par = {}) const;

 private:
  GemmPanels w_;
  Epilogue ep_;
};

}  // namespace iciia::kernels
