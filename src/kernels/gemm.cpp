#include "kernels/gemm.h"

#include <algorithm>
#include <cassert>

#include "kernels/vec.h"
#include "util/error.h"

namespace iciia::kernels {

using namespace vec;

namespace {

constexpr int NR = kGemmNR;

// f32_igemm_MRx8: one MR x 8 output tile.
//   nc: valid columns (1..8) of this panel; w: the panel ([bias 8][ks*kc][8]);
//   a: ks * MR input pointers, tap-major.
template <int MR, class Op>
ICIIA_ALWAYS_INLINE void f32_igemm_MRx8(int nc, int kc, int ks, const float* const* a, const float* w, float* c,
                                        size_t ldc, const float* res, size_t ldr, const Op& op) {
  f32x4 acc[2 * MR];
  {
    const f32x4 b0 = load(w), b1 = load(w + 4);
    for (int r = 0; r < MR; ++r) {
      acc[2 * r] = b0;
      acc[2 * r + 1] = b1;
    }
  }
  w += NR;
  for (int t = 0; t < ks; ++t, a += MR) {
    const float* ar[MR];
    for (int r = 0; r < MR; ++r) ar[r] = a[r];
    int k = 0;
    for (; k < kc; ++k, w += NR) {
      const f32x4 w0 = load(w), w1 = load(w + 4);
      for (int r = 0; r < MR; ++r) {
        const f32x4 s = load_splat(ar[r] + k);
        acc[2 * r] = madd(acc[2 * r], s, w0);
        acc[2 * r + 1] = madd(acc[2 * r + 1], s, w1);
      }
    }
  }
  // Epilogue: residual (all loads before any store, so it may alias c),
  // activation, store.
  if (nc == NR) {
    if (res)
      for (int r = 0; r < MR; ++r) {
        acc[2 * r] = add(acc[2 * r], load(res + r * ldr));
        acc[2 * r + 1] = add(acc[2 * r + 1], load(res + r * ldr + 4));
      }
    for (int r = 0; r < MR; ++r) {
      store(c + r * ldc, op(acc[2 * r]));
      store(c + r * ldc + 4, op(acc[2 * r + 1]));
    }
  } else {
    const int n0 = std::min(nc, 4), n1 = nc - n0;
    if (res)
      for (int r = 0; r < MR; ++r) {
        acc[2 * r] = add(acc[2 * r], load_partial(res + r * ldr, n0));
        acc[2 * r + 1] = add(acc[2 * r + 1], load_partial(res + r * ldr + 4, n1));
      }
    for (int r = 0; r < MR; ++r) {
      store_partial(c + r * ldc, op(acc[2 * r]), n0);
      store_partial(c + r * ldc + 4, op(acc[2 * r + 1]), n1);
    }
  }
}

// One microkernel variant: MR rows, panels [p0, p1), activation Op.
template <int MR, class Op>
void igemm_rows(int ks, int kc, const float* const* a, const GemmPanels& w, int p0, int p1, float* c, size_t ldc,
                const float* res, size_t ldr, const Epilogue& ep) {
  const Op op(ep);
  for (int p = p0; p < p1; ++p) {
    const int nc = std::min(NR, w.n - p * NR);
    f32_igemm_MRx8<MR>(nc, kc, ks, a, w.panel(p), c + p * NR, ldc, res ? res + p * NR : nullptr, ldr, op);
  }
}

// f32_gemv_1x8 over all panels: a GEMM of one row (the ICIIA projections of
// one query, classifier layers). The MRx8 tile at MR = 1 has two
// accumulators, each a chain of dependent adds, so it waits on add latency;
// this one takes k in pairs into two sets of accumulators (four chains in
// flight, as PackedLinear's GEMV had) and adds them at the end.
template <class Op>
void gemv_row(int k, const float* a, const GemmPanels& w, int p0, int p1, float* c, const float* res,
              const Epilogue& ep) {
  const Op op(ep);
  for (int p = p0; p < p1; ++p) {
    const float* wp = w.panel(p);
    f32x4 a0 = load(wp), a1 = load(wp + 4), b0 = zero(), b1 = zero();
    wp += NR;
    int i = 0;
    for (; i + 2 <= k; i += 2, wp += 2 * NR) {
      const f32x4 x0 = load_splat(a + i), x1 = load_splat(a + i + 1);
      a0 = madd(a0, x0, load(wp));
      a1 = madd(a1, x0, load(wp + 4));
      b0 = madd(b0, x1, load(wp + NR));
      b1 = madd(b1, x1, load(wp + NR + 4));
    }
    if (i < k) {
      const f32x4 x0 = load_splat(a + i);
      a0 = madd(a0, x0, load(wp));
      a1 = madd(a1, x0, load(wp + 4));
    }
    a0 = add(a0, b0);
    a1 = add(a1, b1);
    const int nc = std::min(NR, w.n - p * NR), n0 = std::min(nc, 4), n1 = nc - n0;
    float* cp = c + p * NR;
    if (res) {
      a0 = add(a0, load_partial(res + p * NR, n0));
      a1 = add(a1, load_partial(res + p * NR + 4, n1));
    }
    store_partial(cp, op(a0), n0);
    store_partial(cp + 4, op(a1), n1);
  }
}

using GemvFn = void (*)(int, const float*, const GemmPanels&, int, int, float*, const float*, const Epilogue&);
constexpr GemvFn kGemvTable[detail::kFusedActs] = {gemv_row<detail::ActIdentity>, gemv_row<detail::ActRelu>,
                                                   gemv_row<detail::ActClip>, gemv_row<detail::ActHardSwish>};

using IgemmRowsFn = void (*)(int, int, const float* const*, const GemmPanels&, int, int, float*, size_t,
                             const float*, size_t, const Epilogue&);

template <class Op>
constexpr IgemmRowsFn kRowsByMR[kGemmMaxRows] = {igemm_rows<1, Op>, igemm_rows<2, Op>, igemm_rows<3, Op>,
                                                  igemm_rows<4, Op>, igemm_rows<5, Op>, igemm_rows<6, Op>};
// [fused activation][rows - 1]
constexpr const IgemmRowsFn* kIgemmTable[detail::kFusedActs] = {
    kRowsByMR<detail::ActIdentity>, kRowsByMR<detail::ActRelu>, kRowsByMR<detail::ActClip>,
    kRowsByMR<detail::ActHardSwish>};

}  // namespace

// Measured on x86-64 (tests/bench/conv_kernels_gbench.cpp and the same shapes
// under Node): in WebAssembly 4x8 wins clearly (V8 keeps 15 vector registers;
// 6x8's 12 accumulators + 2 weights + 1 broadcast spill), natively (SSE2, 16
// registers) 6x8 is a few percent ahead.
int gemm_default_tile_rows() {
#if defined(ICIIA_GEMM_TILE_ROWS)
  return ICIIA_GEMM_TILE_ROWS;
#elif defined(__wasm_simd128__)
  return 4;
#else
  return 6;
#endif
}

void igemm_block(int rows, int ks, int kc, const float* const* a, const GemmPanels& w, float* c, size_t ldc,
                 const float* residual, size_t ldr, const Epilogue& ep, int p0, int p1) {
  assert(w.k == ks * kc);
  assert(rows >= 1 && rows <= kGemmMaxRows);
  if (p1 < 0) p1 = w.panels();
  assert(p0 >= 0 && p0 <= p1 && p1 <= w.panels());
  kIgemmTable[detail::fused_activation(ep)][rows - 1](ks, kc, a, w, p0, p1, c, ldc, residual, ldr, ep);
  if (detail::needs_activation_pass(ep)) {
    const int n0 = p0 * kGemmNR, n1 = std::min(w.n, p1 * kGemmNR);
    for (int r = 0; r < rows; ++r) apply_activation(ep, c + r * ldc + n0, n1 - n0);
  }
}

PackedGemm::PackedGemm(int k, int n, std::span<const float> weight, std::span<const float> bias, const Epilogue& ep)
    : ep_(ep) {
  if (k <= 0 || n <= 0) throw Error(ErrorCode::kInvalidArgument, "PackedGemm: k and n must be positive");
  if (weight.size() != static_cast<size_t>(k) * n || (!bias.empty() && bias.size() != static_cast<size_t>(n)))
    throw Error(ErrorCode::kInvalidArgument, "PackedGemm: weight or bias size does not match k x n");
  w_ = pack_gemm_panels(
      n, k, [&](int j, int i) { return weight[static_cast<size_t>(j) * k + i]; },
      bias.empty() ? nullptr : bias.data());
}

void PackedGemm::run(const float* a, int m, size_t lda, float* c, size_t ldc, const float* residual, size_t ldr,
                     int tile_rows, const Parallel& par) const {
  if (m == 1) {
    // One row: its panels of 8 output columns are independent.
    par.for_ranges(w_.panels(), static_cast<int64_t>(w_.k) * kGemmNR, 1, [&](int64_t p0, int64_t p1, int) {
      kGemvTable[detail::fused_activation(ep_)](w_.k, a, w_, static_cast<int>(p0), static_cast<int>(p1), c, residual,
                                                ep_);
      if (detail::needs_activation_pass(ep_)) {
        const int n0 = static_cast<int>(p0) * kGemmNR, n1 = std::min(w_.n, static_cast<int>(p1) * kGemmNR);
        apply_activation(ep_, c + n0, n1 - n0);
      }
    });
    return;
  }
  if (tile_rows <= 0) tile_rows = gemm_default_tile_rows();
  tile_rows = std::min(tile_rows, kGemmMaxRows);
  // Rows in whole tiles, so each block is the one-pass block.
  par.for_ranges(m, static_cast<int64_t>(w_.k) * w_.n, tile_rows, [&](int64_t begin, int64_t end, int) {
    const float* ptrs[kGemmMaxRows];
    for (int m0 = static_cast<int>(begin); m0 < end; m0 += tile_rows) {
      const int rows = std::min(tile_rows, static_cast<int>(end) - m0);
      for (int r = 0; r < rows; ++r) ptrs[r] = a + (m0 + r) * lda;
      igemm_block(rows, 1, w_.k, ptrs, w_, c + m0 * ldc, ldc, residual ? residual + m0 * ldr : nullptr, ldr, ep_);
    }
  });
}

}  // namespace iciia::kernels
