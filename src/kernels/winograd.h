// Winograd convolution F(m x m, 3 x 3) on NHWC float32, the kWinograd path of
// PackedConv2d for dense 3x3 convolutions with stride 1 and no dilation
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
//
// Each m x m block of outputs ("tile") is computed from an (m+2) x (m+2)
// patch of input d and the 3x3 filter g as
//     Y = A^T [ (G g G^T) (.) (B^T d B) ] A
// where (.) is the element-wise product: per input/output channel pair, the
// (m+2)^2 products replace 9 m^2 multiply-adds (m = 4: 36 instead of 144, a
// quarter; m = 2: 16 instead of 36). Summed over input channels, each of the
// (m+2)^2 element positions is one GEMM [tiles x in_c] . [in_c x out_c]: the
// packed MRx8 GEMM of gemm.h. So a layer is
//   1. input transform: V[pos][tile][c] = (B^T d B)[pos], vectorised over 4 channels;
//   2. (m+2)^2 GEMMs: M[pos] = V[pos] . U[pos], U = G g G^T packed at load;
//   3. output transform: Y = A^T M A + bias, then residual and activation.
// The transforms cost O((m+2)^2 (in_c + out_c)) per tile, small next to the
// GEMMs once in_c and out_c reach a few dozen. Larger m multiplies less but
// rounds more (the transforms' constants grow: 8 in A for m = 4); the
// kernel test holds both to 1e-4 of the output's scale, and ResNet-18 end to
// end moves by 5e-7 of its logits' scale against the direct GEMM.
#pragma once

#include <cstddef>
#include <vector>

#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"

namespace iciia::kernels {

struct Conv2dParams;

namespace winograd {

// Whether F(m x m, 3 x 3) applies: 3x3 kernel, stride 1, dilation 1, one group.
bool applicable(const Conv2dParams& p);

struct Packed {
  int tile = 0;                  // m: 2 or 4
  std::vector<PackedGemm> u;     // (m+2)^2 GEMMs, k = in_c, n = out_c, no bias
  std::vector<float> bias;       // out_c, padded to a multiple of 4
};

// weight: ONNX [out_c][in_c][3][3]; bias: out_c floats or null.
Packed pack(const Conv2dParams& p, int tile, const float* weight, const float* bias);
// Floats of scratch run() needs for an h x w input (batch n), shared by all
// of par's threads.
size_t scratch_floats(const Conv2dParams& p, int tile, int n, int h, int w);
void run(const Conv2dParams& p, const Packed& w, const Epilogue& ep, const float* in, int n, int h, int wd, float* out,
         float* scratch, const float* residual, const Parallel& par = {});

}  // namespace winograd
}  // namespace iciia::kernels
