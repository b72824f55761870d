#include "kernels/depthwise.h"

#include <algorithm>
#include <cstdint>

#include "kernels/conv2d.h"
#include "kernels/vec.h"
#include "util/pointer_scratch.h"

namespace iciia::kernels::depthwise {

using namespace vec;

namespace {

constexpr int CT = kChannelTile;

// Where tap t of output pixel x starts (its channel 0): through the
// indirection buffer (border pixels), or at a fixed offset from the pixel's
// window origin (interior pixels, no buffer to fill).
struct IndirectTaps {
  const float* const* ptrs;
  int taps;
  const float* operator()(int x, int t) const { return ptrs[x * taps + t]; }
};
struct DirectTaps {
  const float* origin;  // window origin of pixel x0
  int x0;
  size_t step;          // floats between the windows of neighbouring pixels
  const size_t* off;    // per tap, floats from the window origin
  const float* operator()(int x, int t) const { return origin + (x - x0) * step + off[t]; }
};

// f32_dwconv_pixels<T, PX>: PX output pixels starting at x, all C channels, 8 at a
// time (the PX pixels share each weight load; 2 * PX independent sums in
// flight). T = 0: taps at run time. Op: the fused activation.
template <int T, int PX, class Taps, class Op>
ICIIA_ALWAYS_INLINE void f32_dwconv_pixels(int taps_rt, int C, int x, const Taps& src, const float* w, float* out,
                                           const float* res, const Op& op) {
  const int taps = T > 0 ? T : taps_rt;
  const size_t wtile = static_cast<size_t>(CT) * (taps + 1);
  out += static_cast<size_t>(x) * C;
  if (res) res += static_cast<size_t>(x) * C;
  // The taps' pointers, hoisted out of the channel loop when T is known.
  constexpr int TH = T > 0 ? T : 1;
  const float* ip[PX][TH];
  if constexpr (T > 0) {
    for (int p = 0; p < PX; ++p)
      for (int t = 0; t < T; ++t) ip[p][t] = src(x + p, t);
  }
  auto tap = [&](int p, int t) {
    if constexpr (T > 0)
      return ip[p][t];
    else
      return src(x + p, t);
  };
  const float* wp = w;
  int c = 0;
  for (; c + CT <= C; c += CT, wp += wtile) {
    f32x4 acc[2 * PX];
    for (int p = 0; p < PX; ++p) acc[2 * p] = load(wp), acc[2 * p + 1] = load(wp + 4);
    const float* wt = wp + CT;
    for (int t = 0; t < taps; ++t, wt += CT) {
      const f32x4 w0 = load(wt), w1 = load(wt + 4);
      for (int p = 0; p < PX; ++p) {
        const float* i = tap(p, t) + c;
        acc[2 * p] = madd(acc[2 * p], load(i), w0);
        acc[2 * p + 1] = madd(acc[2 * p + 1], load(i + 4), w1);
      }
    }
    if (res)
      for (int p = 0; p < PX; ++p) {
        acc[2 * p] = add(acc[2 * p], load(res + p * C + c));
        acc[2 * p + 1] = add(acc[2 * p + 1], load(res + p * C + c + 4));
      }
    for (int p = 0; p < PX; ++p) {
      store(out + p * C + c, op(acc[2 * p]));
      store(out + p * C + c + 4, op(acc[2 * p + 1]));
    }
  }
  if (c < C) {
    // 1..7 channels left: partial loads never read past the pixel.
    const int n0 = std::min(C - c, 4), n1 = C - c - n0;
    for (int p = 0; p < PX; ++p) {
      f32x4 acc0 = load(wp), acc1 = load(wp + 4);
      const float* wt = wp + CT;
      for (int t = 0; t < taps; ++t, wt += CT) {
        const float* i = tap(p, t) + c;
        acc0 = madd(acc0, load_partial(i, n0), load(wt));
        acc1 = madd(acc1, load_partial(i + 4, n1), load(wt + 4));
      }
      if (res) {
        acc0 = add(acc0, load_partial(res + p * C + c, n0));
        acc1 = add(acc1, load_partial(res + p * C + c + 4, n1));
      }
      store_partial(out + p * C + c, op(acc0), n0);
      store_partial(out + p * C + c + 4, op(acc1), n1);
    }
  }
}


// Output pixels [x0, x1) of one row.
template <int T, class Taps, class Op>
void f32_dwconv_row(int taps, int C, int x0, int x1, const Taps& src, const float* w, float* out, const float* res,
                    const Epilogue& ep) {
  const Op op(ep);
  constexpr int PX = 4;
  int x = x0;
  for (; x + PX <= x1; x += PX) f32_dwconv_pixels<T, PX>(taps, C, x, src, w, out, res, op);
  if constexpr (PX > 2) {
    if (x + 2 <= x1) {
      f32_dwconv_pixels<T, 2>(taps, C, x, src, w, out, res, op);
      x += 2;
    }
  }
  if (x < x1) f32_dwconv_pixels<T, 1>(taps, C, x, src, w, out, res, op);
}

template <class Taps>
using DwRowFn = void (*)(int, int, int, int, const Taps&, const float*, float*, const float*, const Epilogue&);

// [fused activation][3x3, 5x5, other]
template <class Taps, class Op>
constexpr DwRowFn<Taps> kByTaps[3] = {f32_dwconv_row<9, Taps, Op>, f32_dwconv_row<25, Taps, Op>,
                                      f32_dwconv_row<0, Taps, Op>};
template <class Taps>
constexpr const DwRowFn<Taps>* kDwTable[detail::kFusedActs] = {
    kByTaps<Taps, detail::ActIdentity>, kByTaps<Taps, detail::ActRelu>, kByTaps<Taps, detail::ActClip>,
    kByTaps<Taps, detail::ActHardSwish>};

template <class Taps>
DwRowFn<Taps> select_row_kernel(int taps, const Epilogue& ep) {
  return kDwTable<Taps>[detail::fused_activation(ep)][taps == 9 ? 0 : taps == 25 ? 1 : 2];
}

}  // namespace

std::vector<float> pack(int channels, int taps, const float* weight, const float* bias) {
  const int tiles = (channels + CT - 1) / CT;
  std::vector<float> packed(static_cast<size_t>(tiles) * CT * (taps + 1), 0.f);
  for (int c = 0; c < channels; ++c) {
    float* tile = packed.data() + static_cast<size_t>(c / CT) * CT * (taps + 1);
    tile[c % CT] = bias ? bias[c] : 0.f;
    for (int t = 0; t < taps; ++t) tile[CT * (t + 1) + c % CT] = weight[static_cast<size_t>(c) * taps + t];
  }
  return packed;
}

size_t scratch_floats(const Conv2dParams& p, int in_w) {
  // Pointers of one output row, then the per-tap offsets (size_t, no wider).
  return pointer_floats(static_cast<size_t>(p.out_w(in_w)) * p.kernel_h * p.kernel_w + p.kernel_h * p.kernel_w);
}

void run(const Conv2dParams& p, const float* packed, const float* zeros, const Epilogue& ep, const float* in, int n,
         int h, int w, float* out, float* scratch, const float* residual, const Parallel& par) {
  const int C = p.in_channels, kh = p.kernel_h, kw = p.kernel_w, taps = kh * kw;
  const int oh = p.out_h(h), ow = p.out_w(w);
  const size_t row_stride = static_cast<size_t>(w) * C;
  // Output columns whose window lies inside the input horizontally: [ox_lo, ox_hi).
  const int span_w = (kw - 1) * p.dilation_w, span_h = (kh - 1) * p.dilation_h;
  const int ox_lo = std::min((p.pad_left + p.stride_w - 1) / p.stride_w, ow);
  const int last = w - 1 - span_w + p.pad_left;  // largest ox * stride_w allowed
  const int ox_hi = std::clamp(last >= 0 ? last / p.stride_w + 1 : 0, ox_lo, ow);
  const auto row_indirect = select_row_kernel<IndirectTaps>(taps, ep);
  const auto row_direct = select_row_kernel<DirectTaps>(taps, ep);
  // Output rows are independent: each range of them runs on one thread with
  // its own pointer scratch.
  const int64_t row_macs = static_cast<int64_t>(ow) * C * taps;
  par.for_ranges(static_cast<int64_t>(n) * oh, row_macs, 1, [&](int64_t row_begin, int64_t row_end, int worker) {
    const float** ptrs = pointer_scratch(par.scratch(scratch, worker));  // [ow][taps]
    size_t* off = reinterpret_cast<size_t*>(ptrs + static_cast<size_t>(ow) * taps);  // [taps]
    for (int ky = 0; ky < kh; ++ky)
      for (int kx = 0; kx < kw; ++kx)
        off[ky * kw + kx] =
            static_cast<size_t>(ky) * p.dilation_h * row_stride + static_cast<size_t>(kx) * p.dilation_w * C;
    for (int64_t r = row_begin; r < row_end; ++r) {
      const int b = static_cast<int>(r / oh), oy = static_cast<int>(r % oh);
      const float* img = in + static_cast<size_t>(b) * h * row_stride;
      const int iy0 = oy * p.stride_h - p.pad_top;
      const size_t o = (static_cast<size_t>(b) * oh + oy) * ow * C;
      float* orow = out + o;
      const float* rrow = residual ? residual + o : nullptr;
      const bool inside_y = iy0 >= 0 && iy0 + span_h < h;
      // Border pixels (all of them in a border row): fill their taps.
      auto fill = [&](int x0, int x1) {
        for (int ox = x0; ox < x1; ++ox) {
          const float** px = ptrs + static_cast<size_t>(ox) * taps;
          const int ix0 = ox * p.stride_w - p.pad_left;
          for (int ky = 0; ky < kh; ++ky) {
            const int iy = iy0 + ky * p.dilation_h;
            for (int kx = 0; kx < kw; ++kx) {
              const int ix = ix0 + kx * p.dilation_w;
              px[ky * kw + kx] =
                  iy >= 0 && iy < h && ix >= 0 && ix < w ? img + iy * row_stride + static_cast<size_t>(ix) * C : zeros;
            }
          }
        }
      };
      const IndirectTaps indirect{ptrs, taps};
      const bool interior = inside_y && ox_lo < ox_hi;
      if (!interior)
        fill(0, ow);
      else {
        fill(0, ox_lo);
        fill(ox_hi, ow);
      }
      const float* origin =
          interior ? img + iy0 * row_stride + static_cast<size_t>(ox_lo * p.stride_w - p.pad_left) * C : nullptr;
      const DirectTaps direct{origin, ox_lo, static_cast<size_t>(p.stride_w) * C, off};
      if (!interior) {
        row_indirect(taps, C, 0, ow, indirect, packed, orow, rrow, ep);
      } else {
        if (ox_lo > 0) row_indirect(taps, C, 0, ox_lo, indirect, packed, orow, rrow, ep);
        row_direct(taps, C, ox_lo, ox_hi, direct, packed, orow, rrow, ep);
        if (ox_hi < ow) row_indirect(taps, C, ox_hi, ow, indirect, packed, orow, rrow, ep);
      }
      if (detail::needs_activation_pass(ep)) apply_activation(ep, orow, static_cast<size_t>(ow) * C);
    }
  });
}

}  // namespace iciia::kernels::depthwise
