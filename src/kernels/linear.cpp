#include "kernels/linear.h"

#include <algorithm>

#include "kernels/vec.h"
#include "util/error.h"

namespace iciia::kernels {

using namespace vec;

namespace {

// Rows of a shuffled partition's outputs staged in scratch before the scatter.
constexpr int kScatterRows = 16;

}  // namespace

PackedLinear::PackedLinear(const LinearShape& shape, std::span<const float> weight, std::span<const float> bias,
                           const Epilogue& ep)
    : shape_(shape), ep_(ep) {
  const int g = shape.groups, mi = shape.in_per_group, mo = shape.out_per_group;
  if (g <= 0 || mi <= 0 || mo <= 0)
    throw Error(ErrorCode::kInvalidArgument, "PackedLinear: groups, in and out sizes must be positive");
  if (weight.size() != static_cast<size_t>(g) * mo * mi || bias.size() != static_cast<size_t>(g) * mo)
    throw Error(ErrorCode::kInvalidArgument, "PackedLinear: weight or bias size does not match the shape");

  // Many narrow partitions vectorise better across partitions than within one.
  layout_ = g >= 8 ? Layout::kInterleave : Layout::kGemm;
  if (layout_ == Layout::kGemm) {
    std::vector<float> b(mo);
    for (int p = 0; p < g; ++p) {
      for (int o = 0; o < mo; ++o) b[o] = bias[shape.out_index(p, o)];
      gemms_.emplace_back(mi, mo, weight.subspan(static_cast<size_t>(p) * mo * mi, static_cast<size_t>(mo) * mi), b,
                          ep);
    }
    return;
  }
  bias_.assign(bias.begin(), bias.end());
  groups_padded_ = (g + 3) / 4 * 4;
  packed_.assign(static_cast<size_t>(mo) * mi * groups_padded_, 0.f);
  for (int o = 0; o < mo; ++o)
    for (int i = 0; i < mi; ++i)
      for (int p = 0; p < g; ++p)
        packed_[(static_cast<size_t>(o) * mi + i) * groups_padded_ + p] =
            weight[(static_cast<size_t>(p) * mo + o) * mi + i];
}

size_t PackedLinear::scratch_floats() const {
  if (layout_ == Layout::kInterleave)
    return static_cast<size_t>(groups_padded_) * (shape_.in_per_group + shape_.out_per_group);
  return shape_.shuffle && shape_.groups > 1 ? static_cast<size_t>(kScatterRows) * shape_.out_per_group : 0;
}

void PackedLinear::run(const float* x, int rows, float* y, float* scratch) const {
  if (rows <= 0) return;
  if (layout_ == Layout::kInterleave) return run_interleave(x, rows, y, scratch);
  const int g = shape_.groups, mi = shape_.in_per_group, mo = shape_.out_per_group;
  const size_t ldx = shape_.in_features(), ldy = shape_.out_features();
  for (int p = 0; p < g; ++p) {
    const float* xp = x + static_cast<size_t>(p) * mi;
    if (!shape_.shuffle || g == 1) {
      // Partition p's outputs are the columns [p*m_out, (p+1)*m_out) of y.
      gemms_[p].run(xp, rows, ldx, y + static_cast<size_t>(p) * mo, ldy);
      continue;
    }
    for (int r0 = 0; r0 < rows; r0 += kScatterRows) {
      const int n = std::min(kScatterRows, rows - r0);
      gemms_[p].run(xp + r0 * ldx, n, ldx, scratch, mo);
      for (int r = 0; r < n; ++r)
        for (int o = 0; o < mo; ++o) y[(r0 + r) * ldy + shape_.out_index(p, o)] = scratch[r * mo + o];
    }
  }
}

void PackedLinear::run_interleave(const float* x, int rows, float* y, float* scratch) const {
  const int g = shape_.groups, mi = shape_.in_per_group, mo = shape_.out_per_group, gp = groups_padded_;
  const size_t ldx = shape_.in_features(), ldy = shape_.out_features();
  float* xt = scratch;                                 // [mi][gp]
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
        yr[j] = yt[o * gp + p] + bias_[j];
      }
    if (ep_.kind != ActKind::kNone) apply_activation(ep_, yr, ldy);
  }
}

}  // namespace iciia::kernels
