#include "kernels/linear.h"

#include <algorithm>
#include <cassert>

#include "kernels/vec.h"
#include "util/error.h"

namespace iciia::kernels {

using namespace vec;

namespace {

constexpr int NR = PackedLinear::kPanelWidth;

// acc[MR][8] = x[MR rows][k] . panel[k][8]; x rows `ldx` floats apart.
template <int MR>
inline void f32_gemm_panel_MRx8(const float* x, size_t ldx, const float* panel, int k, float* acc) {
  f32x4 c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = zero();
  for (int i = 0; i < k; ++i) {
    const f32x4 w0 = load(panel + i * NR), w1 = load(panel + i * NR + 4);
    for (int r = 0; r < MR; ++r) {
      const f32x4 xs = splat(x[r * ldx + i]);
      c0[r] = madd(c0[r], xs, w0);
      c1[r] = madd(c1[r], xs, w1);
    }
  }
  for (int r = 0; r < MR; ++r) {
    store(acc + r * NR, c0[r]);
    store(acc + r * NR + 4, c1[r]);
  }
}

// One row (GEMV): unrolled twice over k so four accumulator chains are in flight.
inline void f32_gemv_panel_1x8(const float* x, const float* panel, int k, float* acc) {
  f32x4 a0 = zero(), a1 = zero(), b0 = zero(), b1 = zero();
  int i = 0;
  for (; i + 2 <= k; i += 2) {
    const f32x4 x0 = splat(x[i]), x1 = splat(x[i + 1]);
    a0 = madd(a0, x0, load(panel + i * NR));
    a1 = madd(a1, x0, load(panel + i * NR + 4));
    b0 = madd(b0, x1, load(panel + (i + 1) * NR));
    b1 = madd(b1, x1, load(panel + (i + 1) * NR + 4));
  }
  if (i < k) {
    const f32x4 x0 = splat(x[i]);
    a0 = madd(a0, x0, load(panel + i * NR));
    a1 = madd(a1, x0, load(panel + i * NR + 4));
  }
  store(acc, add(a0, b0));
  store(acc + 4, add(a1, b1));
}

inline float activate(float v, Activation act) { return act == Activation::kRelu && v < 0.f ? 0.f : v; }

}  // namespace

PackedLinear::PackedLinear(const LinearShape& shape, std::span<const float> weight, std::span<const float> bias)
    : shape_(shape) {
  const int g = shape.groups, mi = shape.in_per_group, mo = shape.out_per_group;
  if (g <= 0 || mi <= 0 || mo <= 0)
    throw Error(ErrorCode::kInvalidArgument, "PackedLinear: groups, in and out sizes must be positive");
  if (weight.size() != static_cast<size_t>(g) * mo * mi || bias.size() != static_cast<size_t>(g) * mo)
    throw Error(ErrorCode::kInvalidArgument, "PackedLinear: weight or bias size does not match the shape");
  bias_.assign(bias.begin(), bias.end());
  auto w = [&](int p, int o, int i) { return weight[(static_cast<size_t>(p) * mo + o) * mi + i]; };

  // Many narrow partitions vectorise better across partitions than within one.
  layout_ = g >= 8 ? Layout::kInterleave : Layout::kPanels;
  if (layout_ == Layout::kPanels) {
    panels_per_group_ = (mo + NR - 1) / NR;
    packed_.assign(static_cast<size_t>(g) * panels_per_group_ * mi * NR, 0.f);
    for (int p = 0; p < g; ++p)
      for (int pn = 0; pn < panels_per_group_; ++pn) {
        float* dst = packed_.data() + (static_cast<size_t>(p) * panels_per_group_ + pn) * mi * NR;
        for (int i = 0; i < mi; ++i)
          for (int c = 0; c < NR && pn * NR + c < mo; ++c) dst[i * NR + c] = w(p, pn * NR + c, i);
      }
  } else {
    groups_padded_ = (g + 3) / 4 * 4;
    packed_.assign(static_cast<size_t>(mo) * mi * groups_padded_, 0.f);
    for (int o = 0; o < mo; ++o)
      for (int i = 0; i < mi; ++i)
        for (int p = 0; p < g; ++p)
          packed_[(static_cast<size_t>(o) * mi + i) * groups_padded_ + p] = w(p, o, i);
  }
}

size_t PackedLinear::scratch_floats() const {
  if (layout_ == Layout::kPanels) return 0;
  return static_cast<size_t>(groups_padded_) * (shape_.in_per_group + shape_.out_per_group);
}

void PackedLinear::run(const float* x, int rows, float* y, Activation act, float* scratch) const {
  if (rows <= 0) return;
  if (layout_ == Layout::kPanels)
    run_panels(x, rows, y, act);
  else
    run_interleave(x, rows, y, act, scratch);
}

void PackedLinear::run_panels(const float* x, int rows, float* y, Activation act) const {
  const int g = shape_.groups, mi = shape_.in_per_group, mo = shape_.out_per_group;
  const size_t ldx = shape_.in_features(), ldy = shape_.out_features();
  alignas(16) float acc[kPanelRows * NR];
  for (int p = 0; p < g; ++p) {
    for (int pn = 0; pn < panels_per_group_; ++pn) {
      const float* panel = packed_.data() + (static_cast<size_t>(p) * panels_per_group_ + pn) * mi * NR;
      const int o0 = pn * NR, valid = std::min(NR, mo - o0);
      for (int r0 = 0; r0 < rows; r0 += kPanelRows) {
        const int mr = std::min(kPanelRows, rows - r0);
        const float* xr = x + r0 * ldx + static_cast<size_t>(p) * mi;
        switch (mr) {
          case 4: f32_gemm_panel_MRx8<4>(xr, ldx, panel, mi, acc); break;
          case 3: f32_gemm_panel_MRx8<3>(xr, ldx, panel, mi, acc); break;
          case 2: f32_gemm_panel_MRx8<2>(xr, ldx, panel, mi, acc); break;
          default: f32_gemv_panel_1x8(xr, panel, mi, acc); break;
        }
        for (int r = 0; r < mr; ++r) {
          float* yr = y + (r0 + r) * ldy;
          if (g == 1 && valid == NR) {
            // Dense layer, full panel: outputs are contiguous.
            f32x4 v0 = add(load(acc + r * NR), load(bias_.data() + o0));
            f32x4 v1 = add(load(acc + r * NR + 4), load(bias_.data() + o0 + 4));
            if (act == Activation::kRelu) {
              v0 = max(v0, zero());
              v1 = max(v1, zero());
            }
            store(yr + o0, v0);
            store(yr + o0 + 4, v1);
          } else {
            for (int c = 0; c < valid; ++c) {
              const int j = shape_.out_index(p, o0 + c);
              yr[j] = activate(acc[r * NR + c] + bias_[j], act);
            }
          }
        }
      }
    }
  }
}

void PackedLinear::run_interleave(const float* x, int rows, float* y, Activation act, float* scratch) const {
  const int g = shape_.groups, mi = shape_.in_per_group, mo = shape_.out_per_group, gp = groups_padded_;
  const size_t ldx = shape_.in_features(), ldy = shape_.out_features();
  float* xt = scratch;                          // [mi][gp]
  float* yt = scratch + static_cast<size_t>(mi) * gp;  // [mo][gp]
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    for (int i = 0; i < mi; ++i) {
      for (int p = 0; p < g; ++p) xt[i * gp + p] = xr[p * mi + i];
      for (int p = g; p < gp; ++p) xt[i * gp + p] = 0.f;
    }
    for (int o = 0; o < mo; ++o) {
      const float* wo = packed_.data() + static_cast<size_t>(o) * mi * gp;
      int pc = 0;
      // 16 partitions at once: four independent accumulator chains.
      for (; pc + 16 <= gp; pc += 16) {
        f32x4 a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
        for (int i = 0; i < mi; ++i) {
          const float* wi = wo + i * gp + pc;
          const float* xi = xt + i * gp + pc;
          a0 = madd(a0, load(wi), load(xi));
          a1 = madd(a1, load(wi + 4), load(xi + 4));
          a2 = madd(a2, load(wi + 8), load(xi + 8));
          a3 = madd(a3, load(wi + 12), load(xi + 12));
        }
        store(yt + o * gp + pc, a0);
        store(yt + o * gp + pc + 4, a1);
        store(yt + o * gp + pc + 8, a2);
        store(yt + o * gp + pc + 12, a3);
      }
      for (; pc < gp; pc += 4) {
        f32x4 a0 = zero();
        for (int i = 0; i < mi; ++i) a0 = madd(a0, load(wo + i * gp + pc), load(xt + i * gp + pc));
        store(yt + o * gp + pc, a0);
      }
    }
    float* yr = y + r * ldy;
    for (int o = 0; o < mo; ++o)
      for (int p = 0; p < g; ++p) {
        const int j = shape_.out_index(p, o);
        yr[j] = activate(yt[o * gp + p] + bias_[j], act);
      }
  }
}

}  // namespace iciia::kernels
