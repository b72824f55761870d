#include "kernels/conv2d.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "kernels/depthwise.h"
#include "util/error.h"

namespace iciia::kernels {

namespace {

// Below this many input channels per group, gather each output pixel's taps
// into one contiguous row (im2col) so the GEMM's K loop is long and
// 4-aligned, instead of restarting every kc floats.
constexpr int kIm2colMaxGroupChannels = 8;

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::kInvalidArgument, "Conv2d: " + what); }

const float** pointer_scratch(float* scratch) {
  const uintptr_t a = alignof(const float*);
  return reinterpret_cast<const float**>((reinterpret_cast<uintptr_t>(scratch) + a - 1) & ~(a - 1));
}

size_t pointer_floats(size_t count) { return (count * sizeof(const float*) + sizeof(float) - 1) / sizeof(float) + 4; }

}  // namespace

const char* PackedConv2d::path_name(Path path) {
  switch (path) {
    case Path::kGemm1x1: return "gemm1x1";
    case Path::kDepthwise: return "depthwise";
    case Path::kIndirect: return "indirect";
    case Path::kIm2col: return "im2col";
  }
  return "?";
}

PackedConv2d::PackedConv2d(const Conv2dParams& params, std::span<const float> weight, std::span<const float> bias,
                           const Epilogue& ep)
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

size_t PackedConv2d::scratch_floats(int in_h, int in_w) const {
  switch (path_) {
    case Path::kGemm1x1: return 0;
    case Path::kDepthwise: return depthwise::scratch_floats(p_, in_w);
    case Path::kIndirect: return pointer_floats(static_cast<size_t>(kGemmMaxRows) * p_.kernel_h * p_.kernel_w);
    case Path::kIm2col: return static_cast<size_t>(kGemmMaxRows) * p_.kernel_h * p_.kernel_w * kc_;
  }
  return 0;
}

void PackedConv2d::run(const float* in, int n, int h, int w, float* out, float* scratch,
                       const float* residual) const {
  if (n <= 0 || h <= 0 || w <= 0) bad("input must be non-empty");
  if (out_h(h) <= 0 || out_w(w) <= 0)
    bad("input " + std::to_string(h) + "x" + std::to_string(w) + " is smaller than the kernel window");
  if (path_ == Path::kDepthwise)
    depthwise::run(p_, dw_w_.data(), zeros_.data(), ep_, in, n, h, w, out, scratch, residual);
  else
    run_gemm_paths(in, n, h, w, out, scratch, residual);
}

void PackedConv2d::run_gemm_paths(const float* in, int n, int h, int w, float* out, float* scratch,
                                  const float* residual) const {
  const Conv2dParams& p = p_;
  const int tile = std::clamp(tile_rows_ > 0 ? tile_rows_ : gemm_default_tile_rows(), 1, kGemmMaxRows);
  const int oh = p.out_h(h), ow = p.out_w(w), C = p.in_channels, OC = p.out_channels;
  const size_t ldc = OC;
  const float* ptrs1[kGemmMaxRows];

  if (path_ == Path::kGemm1x1) {
    const GemmPanels& wg = group_w_[0];
    const int m = n * h * w;
    for (int m0 = 0; m0 < m; m0 += tile) {
      const int rows = std::min(tile, m - m0);
      for (int r = 0; r < rows; ++r) ptrs1[r] = in + static_cast<size_t>(m0 + r) * C;
      const size_t o = static_cast<size_t>(m0) * ldc;
      igemm_block(rows, 1, C, ptrs1, wg, out + o, ldc, residual ? residual + o : nullptr, ldc, ep_);
    }
    return;
  }

  const int kh = p.kernel_h, kw = p.kernel_w, taps = kh * kw, kc = kc_;
  const int m = n * oh * ow;
  const float** ptrs = path_ == Path::kIndirect ? pointer_scratch(scratch) : nullptr;
  const int K = taps * kc;
  // Input pixel of tap (ky, kx) for output pixel mi, or null in the padding.
  auto tap_pixel = [&](int mi, int ky, int kx) -> const float* {
    const int b = mi / (oh * ow), rem = mi % (oh * ow), oy = rem / ow, ox = rem % ow;
    const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
    const int ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
    if (iy < 0 || iy >= h || ix < 0 || ix >= w) return nullptr;
    return in + ((static_cast<size_t>(b) * h + iy) * w + ix) * C;
  };
  for (int m0 = 0; m0 < m; m0 += tile) {
    const int rows = std::min(tile, m - m0);
    for (int g = 0; g < p.groups; ++g) {
      const size_t coff = static_cast<size_t>(g) * kc;
      if (path_ == Path::kIndirect) {
        for (int r = 0; r < rows; ++r)
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx) {
              const float* px = tap_pixel(m0 + r, ky, kx);
              ptrs[(ky * kw + kx) * rows + r] = px ? px + coff : zeros_.data();
            }
      } else {
        for (int r = 0; r < rows; ++r) {
          float* row = scratch + static_cast<size_t>(r) * K;
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx) {
              const float* px = tap_pixel(m0 + r, ky, kx);
              float* dst = row + (ky * kw + kx) * kc;
              if (px)
                std::copy(px + coff, px + coff + kc, dst);
              else
                std::fill(dst, dst + kc, 0.f);
            }
          ptrs1[r] = row;
        }
      }
      const size_t o = static_cast<size_t>(m0) * ldc + static_cast<size_t>(g) * oc_pg_;
      if (path_ == Path::kIndirect)
        igemm_block(rows, taps, kc, ptrs, group_w_[g], out + o, ldc, residual ? residual + o : nullptr, ldc, ep_);
      else
        igemm_block(rows, 1, K, ptrs1, group_w_[g], out + o, ldc, residual ? residual + o : nullptr, ldc, ep_);
    }
  }
}

}  // namespace iciia::kernels
