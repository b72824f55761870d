// 2-D convolution on NHWC float32 tensors (ONNX Conv semantics: groups,
// strides, dilations, asymmetric pads), weights packed once at construction.
//
// The path is picked from the shape when the layer is built:
//  - kGemm1x1:   1x1 kernel, stride 1, no padding, one group: the input is
//                already the GEMM's A ([n*h*w][in_c]), run by the MRx8 GEMM;
//  - kDepthwise: groups == in_c == out_c: a direct NHWC kernel vectorised over
//                channels (depthwise.h), unrolled for 3x3 and 5x5;
//  - kIndirect:  everything else (3x3 dense, strided 1x1, grouped): an
//                XNNPACK-style indirect GEMM, where each output pixel's rows of
//                A are pointers to its input pixels (one per kernel tap, padding
//                taps point at a zero row) — no im2col copy;
//  - kIm2col:    like kIndirect, but when a group has fewer than 16 input channels
//                (the RGB stem, narrow groups) the taps of each block of output
//                pixels are first gathered into one contiguous row of
//                kh*kw*in_c floats (a few vector copies per kernel row for
//                interior windows), so the GEMM's K loop runs unbroken instead
//                of restarting every kc < 16 floats.
//  - kWinograd:  dense 3x3, stride 1, at least 16 channels in and out, when
//                the engine passes the input size (Conv2dHints): F(4x4, 3x3),
//                or F(2x2, 3x3) where F(4x4)'s weights would be large
//                (winograd.h; choose_winograd_tile in conv2d.cpp).
// Every path adds the bias, optionally a residual tensor of the output's shape,
// then the activation, in its store (activation.h).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "kernels/winograd.h"
#include "kernels/window.h"

namespace iciia::kernels {

struct Conv2dParams : Window2d {
  int in_channels = 0;
  int out_channels = 0;
  int groups = 1;

  bool is_depthwise() const { return groups > 1 && groups == in_channels && groups == out_channels; }
};

// What the caller knows when it packs a convolution: the input size the layer
// will see (0: unknown), which decides whether Winograd pays; winograd_tile
// forces a choice (tests, benchmarks): -1 by shape, 0 never, 2 or 4 that tile.
struct Conv2dHints {
  int in_h = 0, in_w = 0;
  int winograd_tile = -1;
};

class PackedConv2d {
 public:
  enum class Path { kGemm1x1, kDepthwise, kIndirect, kIm2col, kWinograd };

  PackedConv2d() = default;
  // weight: ONNX layout [out_c][in_c / groups][kh][kw]; bias: [out_c] or empty
  // for zeros. Throws Error(kInvalidArgument) naming the bad value.
  PackedConv2d(const Conv2dParams& params, std::span<const float> weight, std::span<const float> bias,
               const Epilogue& ep, const Conv2dHints& hints = {});

  const Conv2dParams& params() const { return p_; }
  const Epilogue& epilogue() const { return ep_; }
  Path path() const { return path_; }
  static const char* path_name(Path path);

  int out_h(int in_h) const { return p_.out_h(in_h); }
  int out_w(int in_w) const { return p_.out_w(in_w); }
  // Floats of scratch run() needs for this input size (0 for some paths).
  size_t scratch_floats(int in_h, int in_w, int n = 1) const;
  // Whether the threads of one run share that scratch (Winograd: each stage
  // writes its own parts of one buffer) rather than each needing its own.
  bool scratch_shared() const { return path_ == Path::kWinograd; }
  int winograd_tile() const { return wino_.tile; }

  // out [n][out_h][out_w][out_c] = act(conv(in [n][h][w][in_c]) + bias + residual).
  // residual: null, or NHWC of the output's shape (it may alias out).
  // scratch: scratch_floats(h, w) floats (may be null when that is 0), for
  // each of par's workers at par.scratch_stride apart, or once for all of
  // them when scratch_shared().
  // in and out must not overlap. Throws when the output would be empty.
  void run(const float* in, int n, int h, int w, float* out, float* scratch,
           const float* residual = nullptr, const Parallel& par = {}) const;

  // GEMM tile height for the GEMM paths: 0 = gemm_default_tile_rows(),
  // otherwise 1..kGemmMaxRows (for benchmarks comparing 4x8 and 6x8).
  void set_tile_rows(int rows) { tile_rows_ = rows; }

 private:
  // Output pixels [m_begin, m_end) (m_begin a multiple of the tile), the
  // channels of panels [p0, p1) (p1 < 0: all; one group only), of the GEMM paths.
  void run_gemm_paths(const float* in, int n, int h, int w, float* out, float* scratch,
                      const float* residual, int m_begin, int m_end, int p0, int p1) const;

  Conv2dParams p_;
  Epilogue ep_;
  Path path_ = Path::kGemm1x1;
  int tile_rows_ = 0;
  int kc_ = 0;       // input channels per group
  int oc_pg_ = 0;    // output channels per group
  std::vector<GemmPanels> group_w_;   // GEMM paths: one panel set per group
  std::vector<float> dw_w_;           // depthwise: packed taps (depthwise.h)
  std::vector<float> zeros_;          // a zero input pixel for padding taps
  winograd::Packed wino_;             // Winograd: transformed weights
};

namespace ref {
// Straight loops over the ONNX Conv definition on NHWC data.
void conv2d(const Conv2dParams& p, const float* weight, const float* bias, const Epilogue& ep, const float* in, int n,
            int h, int w, float* out, const float* residual = nullptr);
}  // namespace ref

}  // namespace iciia::kernels
