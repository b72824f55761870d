#include "kernels/conv2d.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "kernels/depthwise.h"
#include "kernels/vec.h"
#include "kernels/winograd.h"
#include "util/error.h"
#include "util/pointer_scratch.h"

namespace iciia::kernels {

namespace {

// Below this many input channels per group, gather each output pixel's taps
// into one contiguous row (im2col) so the GEMM's K loop runs unbroken,
// instead of restarting every kc floats. Measured under V8 on 3x3 convs at
// 56x56: im2col ahead up to kc = 12, even at 16, the indirect GEMM ahead from 24.
constexpr int kIm2colMaxGroupChannels = 16;

// Winograd F(m x m, 3 x 3) or the direct GEMM (0) for a dense 3x3, stride-1
// layer on an in_h x in_w input. ResNet-18's layers, CPU ms per run, native
// SSE2 (iciia_bench_conv_kernels --benchmark_filter=resnet, machine loaded):
//   56x56x64: direct 9.4, F(2x2) 8.7, F(4x4) 4.1;  28x28x128: 9.2, 6.5, 3.9;
//   14x14x256: 9.5, 5.1, 4.6;  7x7x512: 22.4, 7.8, 6.2.
// F(4x4) wins at every size, but its transformed weights take 4x the memory
// of the direct ones (F(2x2): 16/9): above a few MB per layer F(2x2) keeps
// most of the gain (a 512x512 layer: 38 MB at F(4x4), 17 MB at F(2x2)).
int choose_winograd_tile(const Conv2dParams& p, int in_h, int in_w) {
  if (!winograd::applicable(p) || p.in_channels < 16 || p.out_channels < 16 || in_h <= 0 || in_w <= 0) return 0;
  const int oh = p.out_h(in_h), ow = p.out_w(in_w);
  const double pairs = static_cast<double>(p.in_channels) * p.out_channels;
  if (oh >= 4 && ow >= 4 && 36 * pairs * sizeof(float) <= (16 << 20)) return 4;
  if (oh >= 2 && ow >= 2 && 16 * pairs * sizeof(float) <= (32 << 20)) return 2;
  return 0;
}

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::kInvalidArgument, "Conv2d: " + what); }

void copy_floats(const float* src, float* dst, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) vec::store(dst + i, vec::load(src + i));
  if (i < n) vec::store_partial(dst + i, vec::load_partial(src + i, n - i), n - i);
}

}  // namespace

const char* PackedConv2d::path_name(Path path) {
  switch (path) {
    case Path::kGemm1x1: return "gemm1x1";
    case Path::kDepthwise: return "depthwise";
    case Path::kIndirect: return "indirect";
    case Path::kIm2col: return "im2col";
    case Path::kWinograd: return "winograd";
  }
  return "?";
}

PackedConv2d::PackedConv2d(const Conv2dParams& params, std::span<const float> weight, std::span<const float> bias,
                           const Epilogue& ep, const Conv2dHints& hints)
    : p_(params), ep_(ep) {
  const Conv2dParams& p = p_;
  if (p.in_channels <= 0 || p.out_channels <= 0)
    bad("channels must be positive (in " + std::to_string(p.in_channels) + ", out " + std::to_string(p.out_channels) +
        ")");
  if (p.kernel_h <= 0 || p.kernel_w <= 0) bad("kernel size must be positive");
  if (p.stride_h <= 0 || p.stride_w <= 0) bad("strides must be positive");
  if (p.dilation_h <= 0 || p.dilation_w <= 0) bad("dilations must be positive");
  if (p.pad_top < 0 || p.pad_left < 0 || p.pad_bottom < 0 || p.pad_right < 0) bad("pads must not be negative");
  if (p.groups <= 0 || p.in_channels % p.groups || p.out_channels % p.groups)
    bad("groups " + std::to_string(p.groups) + " must divide in and out channels");
  kc_ = p.in_channels / p.groups;
  oc_pg_ = p.out_channels / p.groups;
  const int taps = p.kernel_h * p.kernel_w;
  const size_t want = static_cast<size_t>(p.out_channels) * kc_ * taps;
  if (weight.size() != want)
    bad("weight has " + std::to_string(weight.size()) + " floats, expected " + std::to_string(want));
  if (!bias.empty() && bias.size() != static_cast<size_t>(p.out_channels))
    bad("bias has " + std::to_string(bias.size()) + " floats, expected " + std::to_string(p.out_channels));
  const float* b = bias.empty() ? nullptr : bias.data();

  if (p.is_depthwise()) {
    path_ = Path::kDepthwise;
    dw_w_ = depthwise::pack(p.in_channels, taps, weight.data(), b);
    zeros_.assign((p.in_channels + depthwise::kChannelTile - 1) / depthwise::kChannelTile * depthwise::kChannelTile,
                  0.f);
    return;
  }
  const int tile = hints.winograd_tile >= 0 ? hints.winograd_tile : choose_winograd_tile(p, hints.in_h, hints.in_w);
  if (tile) {
    path_ = Path::kWinograd;
    wino_ = winograd::pack(p, tile, weight.data(), b);
    return;
  }
  const bool pointwise = p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 &&
                         p.pad_top == 0 && p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
  if (pointwise && p.groups == 1)
    path_ = Path::kGemm1x1;
  else if (kc_ < kIm2colMaxGroupChannels)
    path_ = Path::kIm2col;
  else
    path_ = Path::kIndirect;
  // GEMM reduction index i = tap * kc + c: the order the taps' channels are read.
  const int k = taps * kc_;
  for (int g = 0; g < p.groups; ++g) {
    group_w_.push_back(pack_gemm_panels(
        oc_pg_, k,
        [&](int j, int i) {
          const int o = g * oc_pg_ + j, t = i / kc_, c = i % kc_;
          return weight[(static_cast<size_t>(o) * kc_ + c) * taps + t];
        },
        b ? b + static_cast<size_t>(g) * oc_pg_ : nullptr));
  }
  zeros_.assign(kc_ + 4, 0.f);
}

size_t PackedConv2d::scratch_floats(int in_h, int in_w, int n) const {
  switch (path_) {
    case Path::kWinograd: return winograd::scratch_floats(p_, wino_.tile, n, in_h, in_w);
    case Path::kGemm1x1: return 0;
    case Path::kDepthwise: return depthwise::scratch_floats(p_, in_w);
    case Path::kIndirect: return pointer_floats(static_cast<size_t>(kGemmMaxRows) * p_.kernel_h * p_.kernel_w);
    case Path::kIm2col: return static_cast<size_t>(kGemmMaxRows) * p_.kernel_h * p_.kernel_w * kc_;
  }
  return 0;
}

void PackedConv2d::run(const float* in, int n, int h, int w, float* out, float* scratch, const float* residual,
                       const Parallel& par) const {
  if (n <= 0 || h <= 0 || w <= 0) bad("input must be non-empty");
  if (out_h(h) <= 0 || out_w(w) <= 0)
    bad("input " + std::to_string(h) + "x" + std::to_string(w) + " is smaller than the kernel window");
  if (path_ == Path::kDepthwise) {
    depthwise::run(p_, dw_w_.data(), zeros_.data(), ep_, in, n, h, w, out, scratch, residual, par);
  } else if (path_ == Path::kWinograd) {
    winograd::run(p_, wino_, ep_, in, n, h, w, out, scratch, residual, par);
  } else {
    // Output pixels are independent: each range of them (whole tiles, so the
    // blocks are those of one pass) runs on one thread with its own scratch.
    const int64_t m = static_cast<int64_t>(n) * out_h(h) * out_w(w);
    const int tile = std::clamp(tile_rows_ > 0 ? tile_rows_ : gemm_default_tile_rows(), 1, kGemmMaxRows);
    const int64_t macs = static_cast<int64_t>(p_.kernel_h) * p_.kernel_w * kc_ * p_.out_channels;
    const int panels = group_w_[0].panels();
    if (p_.groups == 1 && m < 2 * tile * par.threads() && panels >= 2 * par.threads()) {
      // Few pixels (a squeeze-excitation layer's 1x1, a late small map) and
      // many outputs: split the output channels instead.
      par.for_ranges(panels, m * macs / panels, 1, [&](int64_t p0, int64_t p1, int worker) {
        run_gemm_paths(in, n, h, w, out, par.scratch(scratch, worker), residual, 0, static_cast<int>(m),
                       static_cast<int>(p0), static_cast<int>(p1));
      });
      return;
    }
    par.for_ranges(m, macs, tile, [&](int64_t begin, int64_t end, int worker) {
      run_gemm_paths(in, n, h, w, out, par.scratch(scratch, worker), residual, static_cast<int>(begin),
                     static_cast<int>(end), 0, -1);
    });
  }
}

void PackedConv2d::run_gemm_paths(const float* in, int n, int h, int w, float* out, float* scratch,
                                  const float* residual, int m_begin, int m_end, int p0, int p1) const {
  const Conv2dParams& p = p_;
  const int tile = std::clamp(tile_rows_ > 0 ? tile_rows_ : gemm_default_tile_rows(), 1, kGemmMaxRows);
  const int oh = p.out_h(h), ow = p.out_w(w), C = p.in_channels, OC = p.out_channels;
  const size_t ldc = OC;
  const float* ptrs1[kGemmMaxRows];

  if (path_ == Path::kGemm1x1) {
    const GemmPanels& wg = group_w_[0];
    const int m = m_end;
    for (int m0 = m_begin; m0 < m; m0 += tile) {
      const int rows = std::min(tile, m - m0);
      for (int r = 0; r < rows; ++r) ptrs1[r] = in + static_cast<size_t>(m0 + r) * C;
      const size_t o = static_cast<size_t>(m0) * ldc;
      igemm_block(rows, 1, C, ptrs1, wg, out + o, ldc, residual ? residual + o : nullptr, ldc, ep_, p0, p1);
    }
    return;
  }

  const int kh = p.kernel_h, kw = p.kernel_w, taps = kh * kw, kc = kc_;
  const int K = taps * kc, span_h = (kh - 1) * p.dilation_h, span_w = (kw - 1) * p.dilation_w;
  const size_t row_stride = static_cast<size_t>(w) * C;
  const float** ptrs = path_ == Path::kIndirect ? pointer_scratch(scratch) : nullptr;
  const float* zeros = zeros_.data();
  const bool contiguous_rows = p.groups == 1 && p.dilation_w == 1;
  // Window of each output pixel of the block: image, top-left input row/column.
  struct Window {
    const float* img;
    int iy0, ix0;
    bool inside;
  } win[kGemmMaxRows];
  // Position of the next output pixel.
  int b = m_begin / (oh * ow), oy = m_begin % (oh * ow) / ow, ox = m_begin % ow;
  const int m = m_end;
  for (int m0 = m_begin; m0 < m; m0 += tile) {
    const int rows = std::min(tile, m - m0);
    for (int r = 0; r < rows; ++r) {
      Window& wr = win[r];
      wr.img = in + static_cast<size_t>(b) * h * row_stride;
      wr.iy0 = oy * p.stride_h - p.pad_top;
      wr.ix0 = ox * p.stride_w - p.pad_left;
      wr.inside = wr.iy0 >= 0 && wr.iy0 + span_h < h && wr.ix0 >= 0 && wr.ix0 + span_w < w;
      if (++ox == ow) {
        ox = 0;
        if (++oy == oh) oy = 0, ++b;
      }
    }
    for (int g = 0; g < p.groups; ++g) {
      const size_t coff = static_cast<size_t>(g) * kc;
      if (path_ == Path::kIndirect) {
        for (int r = 0; r < rows; ++r) {
          const Window& wr = win[r];
          for (int ky = 0; ky < kh; ++ky) {
            const int iy = wr.iy0 + ky * p.dilation_h;
            const bool row_ok = iy >= 0 && iy < h;
            const float* irow = wr.img + static_cast<size_t>(row_ok ? iy : 0) * row_stride + coff;
            for (int kx = 0; kx < kw; ++kx) {
              const int ix = wr.ix0 + kx * p.dilation_w;
              ptrs[(ky * kw + kx) * rows + r] =
                  wr.inside || (row_ok && ix >= 0 && ix < w) ? irow + static_cast<size_t>(ix) * C : zeros;
            }
          }
        }
        const size_t o = static_cast<size_t>(m0) * ldc + static_cast<size_t>(g) * oc_pg_;
        igemm_block(rows, taps, kc, ptrs, group_w_[g], out + o, ldc, residual ? residual + o : nullptr, ldc, ep_, p0,
                    p1);
      } else {
        // im2col: row r of the block = its window's taps, kc channels each.
        for (int r = 0; r < rows; ++r) {
          const Window& wr = win[r];
          float* dst = scratch + static_cast<size_t>(r) * K;
          if (wr.inside && contiguous_rows) {
            // Each kernel row's taps are kw * kc consecutive floats.
            const float* src = wr.img + static_cast<size_t>(wr.iy0) * row_stride + static_cast<size_t>(wr.ix0) * C;
            for (int ky = 0; ky < kh; ++ky, dst += kw * kc)
              copy_floats(src + static_cast<size_t>(ky) * p.dilation_h * row_stride, dst, kw * kc);
            ptrs1[r] = scratch + static_cast<size_t>(r) * K;
            continue;
          }
          for (int ky = 0; ky < kh; ++ky) {
            const int iy = wr.iy0 + ky * p.dilation_h;
            const bool row_ok = iy >= 0 && iy < h;
            const float* irow = wr.img + static_cast<size_t>(row_ok ? iy : 0) * row_stride + coff;
            for (int kx = 0; kx < kw; ++kx, dst += kc) {
              const int ix = wr.ix0 + kx * p.dilation_w;
              if (wr.inside || (row_ok && ix >= 0 && ix < w)) {
                const float* src = irow + static_cast<size_t>(ix) * C;
                for (int c = 0; c < kc; ++c) dst[c] = src[c];
              } else {
                for (int c = 0; c < kc; ++c) dst[c] = 0.f;
              }
            }
          }
          ptrs1[r] = scratch + static_cast<size_t>(r) * K;
        }
        const size_t o = static_cast<size_t>(m0) * ldc + static_cast<size_t>(g) * oc_pg_;
        igemm_block(rows, 1, K, ptrs1, group_w_[g], out + o, ldc, residual ? residual + o : nullptr, ldc, ep_, p0, p1);
      }
    }
  }
}

}  // namespace iciia::kernels
