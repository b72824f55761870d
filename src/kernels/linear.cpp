#include "kernels/linear.h"

#include <algorithm>
#include <iterator>

#include "kernels/vec.h"
#include "util/error.h"

namespace iciia::kernels {

using namespace vec;

namespace {

// Rows of a shuffled partition's outputs staged in scratch before the scatter.
constexpr int kScatterRows = 16;

// Rows the interleaved kernel takes through at once. Each 4-partition chunk
// of weights (m_out * m_in vectors, 1.2 KB for ICIIA-T's in_proj) is loaded
// once per tile and serves all its rows from registers and L1. The kernel
// before this one looped over the rows of a multi-row call doing exactly a
// one-row call's work for each (all 77 KB of weights streamed from L2, the
// 3d outputs scattered one float at a time through out_index), so a
// multi-row pass saved only the calls and ran level with row by row.
constexpr int kInterleaveRows = 8;

// The interleaved layout's operands for one tile of n <= kInterleaveRows rows.
struct InterleaveTile {
  const float* w;     // packed weights, [g_padded / 4][m_out][m_in][4]
  const float* bias;  // packed bias, [g_padded / 4][m_out][4]
  int groups, groups_padded, mi, mo;
  bool shuffle;
};

// Output o of one chunk (4 partitions) for the tile's rows:
// dst[r * ld] = b + sum_i w[i] * x[r][i]. Each sum starts from the bias and
// adds i = 0, 1, ... in order: the same floats for any n, so a multi-row pass
// equals the row-by-row one bit for bit. MI > 0 keeps the chunk's m_in weight vectors in
// registers across the rows (MI = 0: mi at run time). kPartial: only `lanes`
// partitions are real (the last chunk when g is not a multiple of 4).
template <int MI, bool kPartial>
ICIIA_ALWAYS_INLINE void interleave_rows(const float* w, f32x4 b, const float* x, int mi_rt, int n, float* dst,
                                         size_t ld, int lanes) {
  const int mi = MI > 0 ? MI : mi_rt;
  auto put = [&](float* p, f32x4 v) {
    if constexpr (kPartial)
      store_partial(p, v, lanes);
    else
      store(p, v);
  };
  if constexpr (MI > 0) {
    f32x4 wv[MI];
    for (int i = 0; i < MI; ++i) wv[i] = load(w + i * 4);
    for (int r = 0; r < n; ++r) {
      const float* x0 = x + r * MI * 4;
      f32x4 a0 = b;
      for (int i = 0; i < MI; ++i) a0 = madd(a0, wv[i], load(x0 + i * 4));
      put(dst + r * ld, a0);
    }
  } else {
    for (int r = 0; r < n; ++r) {
      const float* xr = x + static_cast<size_t>(r) * mi * 4;
      f32x4 a0 = b;
      for (int i = 0; i < mi; ++i) a0 = madd(a0, load(w + i * 4), load(xr + i * 4));
      put(dst + r * ld, a0);
    }
  }
}

// y[r][out_index(p, o)] = b[out_index(p, o)] + sum_i W[p][o][i] * x[r][p*m_in + i]
// for the tile's n rows, 4 partitions per vector (interleave_rows per output).
//
// Shuffled outputs need no scatter: partitions 4c..4c+3 of output o are the
// consecutive columns o*g + 4c.. of y, so the vector is stored in place.
// Unshuffled ones (p*m_out + o) go through scratch and a scalar scatter.
template <int MI>
void interleave_tile(const InterleaveTile& t, const float* x, size_t ldx, int n, float* y, size_t ldy,
                     float* scratch) {
  const int g = t.groups, gp = t.groups_padded, mo = t.mo, mi = MI > 0 ? MI : t.mi;
  const int chunks = gp / 4, full_chunks = g / 4;
  const size_t xt_chunk = static_cast<size_t>(kInterleaveRows) * mi * 4;
  float* xt = scratch;  // [chunk][row][i][4 lanes]
  float* yt = scratch + static_cast<size_t>(chunks) * xt_chunk;  // unshuffled: [row][o][gp]

  // x transposed so that one vector holds input i of 4 partitions.
  for (int r = 0; r < n; ++r) {
    const float* xr = x + r * ldx;
    for (int c = 0; c < full_chunks; ++c) {
      float* d = xt + c * xt_chunk + static_cast<size_t>(r) * mi * 4;
      const float* s = xr + static_cast<size_t>(c) * 4 * mi;
      for (int lane = 0; lane < 4; ++lane)
        for (int i = 0; i < mi; ++i) d[i * 4 + lane] = s[lane * mi + i];
    }
    if (full_chunks < chunks) {  // g not a multiple of 4: padding partitions read zeros
      float* d = xt + full_chunks * xt_chunk + static_cast<size_t>(r) * mi * 4;
      for (int lane = 0; lane < 4; ++lane) {
        const int p = full_chunks * 4 + lane;
        for (int i = 0; i < mi; ++i) d[i * 4 + lane] = p < g ? xr[p * mi + i] : 0.f;
      }
    }
  }

  // Chunks in groups of 4 (16 partitions, one 64-byte line of a shuffled
  // output row), output o outside: each line of y is completed by 4
  // consecutive stores. Chunk by chunk, a tile's 8 rows x m_out partial lines
  // (rows 15 KB apart, outputs 1 KB apart: 4 L1 sets for ICIIA-T) evicted one
  // another before their line was full, which made the multi-row pass slower
  // per row than a single row.
  for (int c0 = 0; c0 < chunks; c0 += 4) {
    const int c1 = std::min(chunks, c0 + 4);
    for (int o = 0; o < mo; ++o) {
      for (int c = c0; c < c1; ++c) {
        const float* wo = t.w + (static_cast<size_t>(c) * mo + o) * mi * 4;
        const f32x4 b = load(t.bias + (static_cast<size_t>(c) * mo + o) * 4);
        const float* xc = xt + c * xt_chunk;
        const int lanes = std::min(4, g - 4 * c);
        // Destination of row 0 and the step between rows.
        float* dst = t.shuffle ? y + static_cast<size_t>(o) * g + 4 * c : yt + static_cast<size_t>(o) * gp + 4 * c;
        const size_t ld = t.shuffle ? ldy : static_cast<size_t>(mo) * gp;
        if (t.shuffle && lanes < 4)
          interleave_rows<MI, true>(wo, b, xc, mi, n, dst, ld, lanes);
        else
          interleave_rows<MI, false>(wo, b, xc, mi, n, dst, ld, lanes);
      }
    }
  }

  if (!t.shuffle) {
    for (int r = 0; r < n; ++r)
      for (int p = 0; p < g; ++p)
        for (int o = 0; o < mo; ++o)
          y[r * ldy + static_cast<size_t>(p) * mo + o] = yt[(static_cast<size_t>(r) * mo + o) * gp + p];
  }
}

using InterleaveTileFn = void (*)(const InterleaveTile&, const float*, size_t, int, float*, size_t, float*);

// One variant per small m_in, reached through this table (not inlined into
// the driver: activation.h, detail, says why that matters in V8).
InterleaveTileFn interleave_tile_fn(int mi) {
  static constexpr InterleaveTileFn fns[] = {interleave_tile<0>, interleave_tile<1>, interleave_tile<2>,
                                             interleave_tile<3>, interleave_tile<4>, interleave_tile<5>,
                                             interleave_tile<6>, interleave_tile<7>, interleave_tile<8>};
  return mi < static_cast<int>(std::size(fns)) ? fns[mi] : fns[0];
}

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
  // [g_padded / 4][m_out][m_in][4]: a chunk of 4 partitions holds its weights
  // contiguously, bias likewise ([chunk][m_out][4]); padding partitions are 0.
  groups_padded_ = (g + 3) / 4 * 4;
  packed_.assign(static_cast<size_t>(groups_padded_) * mo * mi, 0.f);
  bias_.assign(static_cast<size_t>(groups_padded_) * mo, 0.f);
  for (int p = 0; p < g; ++p) {
    const int c = p / 4, lane = p % 4;
    for (int o = 0; o < mo; ++o) {
      for (int i = 0; i < mi; ++i)
        packed_[((static_cast<size_t>(c) * mo + o) * mi + i) * 4 + lane] =
            weight[(static_cast<size_t>(p) * mo + o) * mi + i];
      bias_[(static_cast<size_t>(c) * mo + o) * 4 + lane] = bias[shape.out_index(p, o)];
    }
  }
}

size_t PackedLinear::scratch_floats() const {
  if (layout_ == Layout::kInterleave)
    return static_cast<size_t>(kInterleaveRows) * groups_padded_ *
           (shape_.in_per_group + (shape_.shuffle ? 0 : shape_.out_per_group));
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
  const InterleaveTile tile{packed_.data(), bias_.data(), shape_.groups, groups_padded_, shape_.in_per_group,
                            shape_.out_per_group, shape_.shuffle};
  const InterleaveTileFn fn = interleave_tile_fn(shape_.in_per_group);
  const size_t ldx = shape_.in_features(), ldy = shape_.out_features();
  for (int r0 = 0; r0 < rows; r0 += kInterleaveRows) {
    const int n = std::min(kInterleaveRows, rows - r0);
    float* yr = y + r0 * ldy;
    fn(tile, x + r0 * ldx, ldx, n, yr, ldy, scratch);
    if (ep_.kind != ActKind::kNone)
      for (int r = 0; r < n; ++r) apply_activation(ep_, yr + r * ldy, ldy);
  }
}

}  // namespace iciia::kernels
