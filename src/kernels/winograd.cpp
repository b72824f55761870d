#include "kernels/winograd.h"

#include <algorithm>
#include <string>

#include "kernels/conv2d.h"
#include "kernels/vec.h"
#include "util/error.h"

namespace iciia::kernels::winograd {

using namespace vec;

namespace {

// The 1-D transforms of F(m, 3): B^T (input, m+2 -> m+2), A^T (output,
// m+2 -> m), G (filter, 3 -> m+2). Applied along columns, then rows; `s` is
// the stride between the values of one line.
template <int M>
struct Transform;

template <>
struct Transform<4> {
  // B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
  static ICIIA_ALWAYS_INLINE void input(const f32x4* d, int s, f32x4* v, int vs) {
    const f32x4 four = splat(4.f), five = splat(5.f), two = splat(2.f);
    const f32x4 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    const f32x4 a = sub(d4, mul(four, d2));  // d4 - 4 d2
    const f32x4 b = sub(d3, mul(four, d1));  // d3 - 4 d1
    const f32x4 c = sub(d4, d2);             // d4 - d2
    const f32x4 e = mul(two, sub(d3, d1));   // 2 (d3 - d1)
    v[0] = add(sub(mul(four, d0), mul(five, d2)), d4);
    v[vs] = add(a, b);
    v[2 * vs] = sub(a, b);
    v[3 * vs] = add(c, e);
    v[4 * vs] = sub(c, e);
    v[5 * vs] = add(sub(mul(four, d1), mul(five, d3)), d5);
  }
  // A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
  static ICIIA_ALWAYS_INLINE void output(const f32x4* m, int s, f32x4* y, int ys) {
    const f32x4 p12 = add(m[s], m[2 * s]), m12 = sub(m[s], m[2 * s]);
    const f32x4 p34 = add(m[3 * s], m[4 * s]), m34 = sub(m[3 * s], m[4 * s]);
    y[0] = add(add(m[0], p12), p34);
    y[ys] = add(m12, mul(splat(2.f), m34));
    y[2 * ys] = add(p12, mul(splat(4.f), p34));
    y[3 * ys] = add(add(m12, mul(splat(8.f), m34)), m[5 * s]);
  }
  // G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
  static void filter(const double* g, int s, double* u, int us) {
    const double g0 = g[0], g1 = g[s], g2 = g[2 * s];
    u[0] = g0 / 4;
    u[us] = -(g0 + g1 + g2) / 6;
    u[2 * us] = -(g0 - g1 + g2) / 6;
    u[3 * us] = (g0 / 4 + g1 / 2 + g2) / 6;
    u[4 * us] = (g0 / 4 - g1 / 2 + g2) / 6;
    u[5 * us] = g2;
  }
};

template <>
struct Transform<2> {
  // B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
  static ICIIA_ALWAYS_INLINE void input(const f32x4* d, int s, f32x4* v, int vs) {
    v[0] = sub(d[0], d[2 * s]);
    v[vs] = add(d[s], d[2 * s]);
    v[2 * vs] = sub(d[2 * s], d[s]);
    v[3 * vs] = sub(d[s], d[3 * s]);
  }
  // A^T = [1 1 1 0; 0 1 -1 -1]
  static ICIIA_ALWAYS_INLINE void output(const f32x4* m, int s, f32x4* y, int ys) {
    y[0] = add(add(m[0], m[s]), m[2 * s]);
    y[ys] = sub(sub(m[s], m[2 * s]), m[3 * s]);
  }
  // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
  static void filter(const double* g, int s, double* u, int us) {
    const double g0 = g[0], g1 = g[s], g2 = g[2 * s];
    u[0] = g0;
    u[us] = (g0 + g1 + g2) / 2;
    u[2 * us] = (g0 - g1 + g2) / 2;
    u[3 * us] = g2;
  }
};

struct Geometry {
  int oh, ow, th, tw;  // output size, tiles per column / row
  int64_t tiles;       // n * th * tw
};

Geometry geometry(const Conv2dParams& p, int tile, int n, int h, int w) {
  Geometry g;
  g.oh = p.out_h(h);
  g.ow = p.out_w(w);
  g.th = (g.oh + tile - 1) / tile;
  g.tw = (g.ow + tile - 1) / tile;
  g.tiles = static_cast<int64_t>(n) * g.th * g.tw;
  return g;
}

template <int M>
Packed pack_tile(const Conv2dParams& p, const float* weight, const float* bias) {
  constexpr int A = M + 2;
  const int ic = p.in_channels, oc = p.out_channels;
  // u[pos][o][i]: the transformed filter of each channel pair, computed in double.
  std::vector<float> u(static_cast<size_t>(A) * A * oc * ic);
  double g[9], t[A * 3], uu[A * A];
  for (int o = 0; o < oc; ++o)
    for (int i = 0; i < ic; ++i) {
      for (int k = 0; k < 9; ++k) g[k] = weight[(static_cast<size_t>(o) * ic + i) * 9 + k];
      for (int c = 0; c < 3; ++c) Transform<M>::filter(g + c, 3, t + c, 3);  // G g: columns
      for (int r = 0; r < A; ++r) Transform<M>::filter(t + 3 * r, 1, uu + A * r, 1);  // (G g) G^T: rows
      for (int pos = 0; pos < A * A; ++pos) u[(static_cast<size_t>(pos) * oc + o) * ic + i] = static_cast<float>(uu[pos]);
    }
  Packed out;
  out.tile = M;
  for (int pos = 0; pos < A * A; ++pos)
    out.u.emplace_back(ic, oc, std::span<const float>(u.data() + static_cast<size_t>(pos) * oc * ic,
                                                      static_cast<size_t>(oc) * ic),
                       std::span<const float>(), Epilogue::none());
  out.bias.assign((oc + 3) / 4 * 4, 0.f);
  if (bias) std::copy(bias, bias + oc, out.bias.begin());
  return out;
}

// V[pos][t][c] for tiles t in [t_begin, t_end): the transformed (m+2)^2 input patches.
template <int M>
void input_transform(const Conv2dParams& p, const Geometry& geo, const float* in, int h, int w, float* v,
                     int64_t t_begin, int64_t t_end) {
  constexpr int A = M + 2;
  const int C = p.in_channels;
  const size_t pos_stride = static_cast<size_t>(geo.tiles) * C;
  const int64_t per_image = static_cast<int64_t>(geo.th) * geo.tw;
  for (int64_t t = t_begin; t < t_end; ++t) {
    const int64_t b = t / per_image;
    const int ty = static_cast<int>(t % per_image / geo.tw), tx = static_cast<int>(t % geo.tw);
    const int iy0 = ty * M - p.pad_top, ix0 = tx * M - p.pad_left;
    const float* rows[A];
    bool col_ok[A];
    for (int i = 0; i < A; ++i) {
      const int iy = iy0 + i;
      rows[i] = iy >= 0 && iy < h ? in + (static_cast<size_t>(b) * h + iy) * w * C : nullptr;
      col_ok[i] = ix0 + i >= 0 && ix0 + i < w;
    }
    float* vt = v + static_cast<size_t>(t) * C;
    for (int c = 0; c < C; c += 4) {
      const int nc = std::min(4, C - c);
      f32x4 d[A * A], tmp[A * A];
      for (int i = 0; i < A; ++i)
        for (int j = 0; j < A; ++j)
          d[i * A + j] =
              rows[i] && col_ok[j] ? load_partial(rows[i] + static_cast<size_t>(ix0 + j) * C + c, nc) : zero();
      for (int j = 0; j < A; ++j) Transform<M>::input(d + j, A, tmp + j, A);          // B^T d
      for (int i = 0; i < A; ++i) Transform<M>::input(tmp + i * A, 1, d + i * A, 1);  // (B^T d) B
      for (int pos = 0; pos < A * A; ++pos) store_partial(vt + pos * pos_stride + c, d[pos], nc);
    }
  }
}

// out = A^T M A + bias (+ residual) for the tiles of bands (rows of tiles,
// counted over the batch) [band_begin, band_end), then the activation over
// each band while it is in cache.
template <int M>
void output_transform(const Conv2dParams& p, const Geometry& geo, const float* m, const float* bias,
                      const Epilogue& ep, float* out, const float* residual, int64_t band_begin, int64_t band_end) {
  constexpr int A = M + 2;
  const int OC = p.out_channels;
  const size_t pos_stride = static_cast<size_t>(geo.tiles) * OC, row = static_cast<size_t>(geo.ow) * OC;
  for (int64_t bi = band_begin; bi < band_end; ++bi) {
    const int64_t b = bi / geo.th;
    const int ty = static_cast<int>(bi % geo.th);
    int64_t t = bi * geo.tw;
    const int oy0 = ty * M, rows = std::min(M, geo.oh - oy0);
    float* band = out + (static_cast<size_t>(b) * geo.oh + oy0) * row;
    const float* rband = residual ? residual + (static_cast<size_t>(b) * geo.oh + oy0) * row : nullptr;
    for (int tx = 0; tx < geo.tw; ++tx, ++t) {
      const int ox0 = tx * M, cols = std::min(M, geo.ow - ox0);
      const float* mt = m + static_cast<size_t>(t) * OC;
      for (int c = 0; c < OC; c += 4) {
        const int nc = std::min(4, OC - c);
        f32x4 mm[A * A], tmp[M * A], y[M * M];
        for (int pos = 0; pos < A * A; ++pos) mm[pos] = load_partial(mt + pos * pos_stride + c, nc);
        for (int j = 0; j < A; ++j) Transform<M>::output(mm + j, A, tmp + j, A);        // A^T M
        for (int i = 0; i < M; ++i) Transform<M>::output(tmp + i * A, 1, y + i * M, 1);  // (A^T M) A
        const f32x4 bv = load(bias + c);
        for (int i = 0; i < rows; ++i)
          for (int j = 0; j < cols; ++j) {
            const size_t at = i * row + static_cast<size_t>(ox0 + j) * OC + c;
            f32x4 v = add(y[i * M + j], bv);
            if (rband) v = add(v, load_partial(rband + at, nc));
            store_partial(band + at, v, nc);
          }
      }
    }
    if (ep.kind != ActKind::kNone) apply_activation(ep, band, rows * row);
  }
}

// Each stage is split over par (tiles, then the (m+2)^2 GEMMs, then bands
// of tiles), all threads sharing the one scratch: every range writes its own
// part of V, M or the output, as the one-thread pass does.
template <int M>
void run_tile(const Conv2dParams& p, const Packed& w, const Epilogue& ep, const float* in, int n, int h, int wd,
              float* out, float* scratch, const float* residual, const Parallel& par) {
  constexpr int A = M + 2;
  const Geometry geo = geometry(p, M, n, h, wd);
  float* v = scratch;
  float* m = scratch + static_cast<size_t>(A) * A * geo.tiles * p.in_channels;
  const int64_t ic = p.in_channels, oc = p.out_channels;
  par.for_ranges(geo.tiles, A * A * ic * 4, 1, [&](int64_t begin, int64_t end, int) {
    input_transform<M>(p, geo, in, h, wd, v, begin, end);
  });
  const int tiles = static_cast<int>(geo.tiles);
  par.for_ranges(A * A, geo.tiles * ic * oc, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t pos = begin; pos < end; ++pos)
      w.u[pos].run(v + static_cast<size_t>(pos) * tiles * ic, tiles, static_cast<size_t>(ic),
                   m + static_cast<size_t>(pos) * tiles * oc, static_cast<size_t>(oc));
  });
  par.for_ranges(geo.tiles / geo.tw, static_cast<int64_t>(geo.tw) * A * A * oc * 4, 1,
                 [&](int64_t begin, int64_t end, int) {
                   output_transform<M>(p, geo, m, w.bias.data(), ep, out, residual, begin, end);
                 });
}

}  // namespace

bool applicable(const Conv2dParams& p) {
  return p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 &&
         p.dilation_w == 1 && p.groups == 1;
}

Packed pack(const Conv2dParams& p, int tile, const float* weight, const float* bias) {
  if (!applicable(p)) throw Error(ErrorCode::kInvalidArgument, "Winograd: needs a dense 3x3 convolution with stride 1");
  if (tile == 4) return pack_tile<4>(p, weight, bias);
  if (tile == 2) return pack_tile<2>(p, weight, bias);
  throw Error(ErrorCode::kInvalidArgument, "Winograd: tile " + std::to_string(tile) + " (2 or 4)");
}

size_t scratch_floats(const Conv2dParams& p, int tile, int n, int h, int w) {
  const Geometry geo = geometry(p, tile, n, h, w);
  return static_cast<size_t>(tile + 2) * (tile + 2) * geo.tiles * (p.in_channels + p.out_channels);
}

void run(const Conv2dParams& p, const Packed& w, const Epilogue& ep, const float* in, int n, int h, int wd, float* out,
         float* scratch, const float* residual, const Parallel& par) {
  if (w.tile == 4)
    run_tile<4>(p, w, ep, in, n, h, wd, out, scratch, residual, par);
  else
    run_tile<2>(p, w, ep, in, n, h, wd, out, scratch, residual, par);
}

}  // namespace iciia::kernels::winograd
