#include "pipeline/preprocess.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/parallel.h"
#include "kernels/vec.h"
#include "pipeline/resize_taps.h"
#include "util/error.h"

namespace iciia {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "preprocess: " + message);
}

}  // namespace

void check_preprocess_spec(const PreprocessSpec& spec) {
  if (spec.channels != 1 && spec.channels != 3)
    invalid("channels must be 1 or 3, got " + std::to_string(spec.channels));
  if (spec.height < 1 || spec.width < 1 || spec.height > 4096 || spec.width > 4096)
    invalid("size must be within [1, 4096] on each side, got " + std::to_string(spec.height) + "x" +
            std::to_string(spec.width));
  if (static_cast<int>(spec.mean.size()) != spec.channels || static_cast<int>(spec.std.size()) != spec.channels)
    invalid("mean and std need one value per channel (" + std::to_string(spec.channels) + "), got " +
            std::to_string(spec.mean.size()) + " and " + std::to_string(spec.std.size()));
  if (!std::isfinite(spec.scale) || spec.scale == 0) invalid("scale must be finite and non-zero");
  for (int c = 0; c < spec.channels; ++c) {
    if (!std::isfinite(spec.mean[c])) invalid("mean[" + std::to_string(c) + "] is not finite");
    if (!std::isfinite(spec.std[c]) || spec.std[c] == 0)
      invalid("std[" + std::to_string(c) + "] must be finite and non-zero");
  }
}

void check_image(const ImageView& image, size_t byte_length) {
  if (image.channels != 1 && image.channels != 3 && image.channels != 4)
    invalid("image channels must be 1 (gray), 3 (RGB) or 4 (RGBA), got " + std::to_string(image.channels));
  if (image.width < 1 || image.height < 1)
    invalid("image size must be at least 1x1, got " + std::to_string(image.width) + "x" +
            std::to_string(image.height));
  if (image.width > kMaxImageSide || image.height > kMaxImageSide ||
      int64_t{image.width} * image.height > kMaxImagePixels)
    invalid("image of " + std::to_string(image.width) + "x" + std::to_string(image.height) +
            " exceeds the limit (" + std::to_string(kMaxImageSide) + " per side, " +
            std::to_string(kMaxImagePixels) + " pixels)");
  const uint64_t need = uint64_t(image.width) * uint64_t(image.height) * uint64_t(image.channels);
  if (byte_length != need)
    invalid("pixel buffer holds " + std::to_string(byte_length) + " bytes, but " + std::to_string(image.width) +
            "x" + std::to_string(image.height) + "x" + std::to_string(image.channels) + " needs " +
            std::to_string(need));
  if (!image.data) invalid("pixel buffer is null");
}

// The fast path. Same arithmetic as ref::preprocess, operation for operation
// (so the results are bit-identical to it, and between the SSE2 and SIMD128
// builds: vec.h has no fused multiply-add), but laid out for speed:
// - RGB output keeps the pixels interleaved, one f32x4 per pixel (R, G, B and
//   a lane that is computed and dropped), so each tap of the horizontal pass
//   is one vector multiply-add for all channels, straight from the
//   interleaved source row;
// - the two passes are fused row by row: a ring of max_count horizontally
//   resized rows feeds the vertical pass, instead of a whole intermediate
//   image, so the working set stays in cache;
// - the taps come from a per-thread cache keyed by (input size, output size).
namespace {

using vec::f32x4;

// One source row to floats: RGB output takes the bytes as they are (the
// horizontal pass reads them per pixel), gray output takes the luma.
template <int kOutChannels, int kInChannels>
void row_to_float(const uint8_t* p, int iw, float* f) {
  if constexpr (kOutChannels == 1 && kInChannels != 1) {
    for (int i = 0; i < iw; ++i, p += kInChannels) f[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
  } else {
    const int n = iw * kInChannels;
    int i = 0;
    for (; i + 16 <= n; i += 16) vec::bytes16_to_floats(p + i, f + i);
    for (; i < n; ++i) f[i] = p[i];
  }
}

// Horizontal pass of one row: dst holds W pixels of kLanes floats. kTaps > 0
// is the padded tap count as a constant (the loop unrolls); 0 reads it from
// the taps.
template <int kOutChannels, int kInChannels, int kTaps>
void resize_row(const float* f, const ResizeTaps& tx, float* dst) {
  const int W = tx.out_size;
  const int n = kTaps > 0 ? kTaps : tx.max_count;
  const float* w = tx.padded.data();
  for (int x = 0; x < W; ++x, w += n) {
    if constexpr (kOutChannels == 3) {
      const float* r = f + size_t(tx.start[x]) * kInChannels;
      f32x4 acc = vec::zero();
      for (int k = 0; k < n; ++k, r += kInChannels) {
        // Gray input: one value for the three channels, as the reference replicates it.
        const f32x4 v = kInChannels == 1 ? vec::load_splat(r) : vec::load(r);
        acc = vec::madd(acc, vec::load_splat(w + k), v);
      }
      vec::store(dst + 4 * size_t(x), acc);
    } else {
      const float* r = f + tx.start[x];
      float acc = 0;
      for (int k = 0; k < n; ++k) acc += w[k] * r[k];
      dst[x] = acc;
    }
  }
}

// The horizontal pass for the tap counts of common scale factors (up to
// about 3.5x shrinking) with a constant trip count, others through the loop.
template <int kOutChannels, int kInChannels>
using ResizeRowFn = void (*)(const float*, const ResizeTaps&, float*);
template <int kOutChannels, int kInChannels>
ResizeRowFn<kOutChannels, kInChannels> pick_resize_row(int taps) {
  switch (taps) {
    case 1: return &resize_row<kOutChannels, kInChannels, 1>;
    case 2: return &resize_row<kOutChannels, kInChannels, 2>;
    case 3: return &resize_row<kOutChannels, kInChannels, 3>;
    case 4: return &resize_row<kOutChannels, kInChannels, 4>;
    case 5: return &resize_row<kOutChannels, kInChannels, 5>;
    case 6: return &resize_row<kOutChannels, kInChannels, 6>;
    case 7: return &resize_row<kOutChannels, kInChannels, 7>;
    case 8: return &resize_row<kOutChannels, kInChannels, 8>;
    default: return &resize_row<kOutChannels, kInChannels, 0>;
  }
}

// Vertical pass of one output row from its n source rows (n <= 64); kTaps > 0
// is n as a constant (the loop unrolls and the weights stay in registers).
template <int kTaps>
void vertical_row(const float* const* rows, const float* w, int n_runtime, size_t row_floats, float* out) {
  const int n = kTaps > 0 ? kTaps : n_runtime;
  f32x4 wk[kTaps > 0 ? kTaps : 1];
  if constexpr (kTaps > 0)
    for (int k = 0; k < kTaps; ++k) wk[k] = vec::load_splat(w + k);
  size_t j = 0;
  for (; j + 4 <= row_floats; j += 4) {
    f32x4 acc = vec::zero();
    for (int k = 0; k < n; ++k)
      acc = vec::madd(acc, kTaps > 0 ? wk[k] : vec::load_splat(w + k), vec::load(rows[k] + j));
    vec::store(out + j, acc);
  }
  for (; j < row_floats; ++j) {  // gray rows whose width is not a multiple of 4
    float acc = 0;
    for (int k = 0; k < n; ++k) acc += w[k] * rows[k][j];
    out[j] = acc;
  }
}

using VerticalRowFn = void (*)(const float* const*, const float*, int, size_t, float*);
VerticalRowFn pick_vertical_row(int taps) {
  switch (taps) {
    case 1: return &vertical_row<1>;
    case 2: return &vertical_row<2>;
    case 3: return &vertical_row<3>;
    case 4: return &vertical_row<4>;
    case 5: return &vertical_row<5>;
    case 6: return &vertical_row<6>;
    case 7: return &vertical_row<7>;
    case 8: return &vertical_row<8>;
    default: return &vertical_row<0>;
  }
}

// Output rows [y0, y1): a range keeps its own ring, so ranges run on
// different threads and every row is computed exactly as in one pass.
template <int kOutChannels, int kInChannels>
void preprocess_rows(const ImageView& image, const PreprocessSpec& spec, float* out, int y0, int y1) {
  constexpr int kLanes = kOutChannels == 3 ? 4 : 1;
  const int W = spec.width, H = spec.height, iw = image.width, ih = image.height;
  const auto tx_ptr = cached_resize_taps(iw, W), ty_ptr = cached_resize_taps(ih, H);
  const ResizeTaps &tx = *tx_ptr, &ty = *ty_ptr;
  const size_t row_floats = size_t(W) * kLanes;
  const int ring_rows = ty.max_count;

  // Source row as floats (+4: an RGB pixel loads as 4 floats), the ring, and
  // one output row before it is split into planes.
  const size_t src_floats = size_t(iw) * kInChannels + 4;
  std::vector<float> scratch(src_floats + row_floats * (ring_rows + 1));
  float* f = scratch.data();
  float* ring = f + src_floats;
  float* row_out = ring + row_floats * ring_rows;
  std::vector<int> ring_tag(ring_rows, -1);  // which source row each slot holds

  const auto resize = pick_resize_row<kOutChannels, kInChannels>(tx.max_count);
  const auto vertical = pick_vertical_row(ty.max_count);
  auto source_row = [&](int y) -> const float* {
    const int slot = y % ring_rows;
    float* dst = ring + row_floats * slot;
    if (ring_tag[slot] != y) {
      row_to_float<kOutChannels, kInChannels>(image.data + size_t(y) * iw * kInChannels, iw, f);
      resize(f, tx, dst);
      ring_tag[slot] = y;
    }
    return dst;
  };

  float mul[4] = {0, 0, 0, 0}, add[4] = {0, 0, 0, 0};
  for (int c = 0; c < kOutChannels; ++c) {
    mul[c] = spec.scale / spec.std[c];
    add[c] = -spec.mean[c] / spec.std[c];
  }
  const size_t plane = size_t(H) * W;
  const float* rows[64];  // the taps of one output row; more than 64 goes through a loop below
  for (int y = y0; y < y1; ++y) {
    const int n = ty.max_count;
    const float* w = ty.padded.data() + size_t(y) * n;
    if (n <= 64) {
      for (int k = 0; k < n; ++k) rows[k] = source_row(ty.start[y] + k);
      vertical(rows, w, n, row_floats, row_out);
    } else {
      // A tall image shrunk a lot: accumulate tap by tap, in the same order.
      std::fill(row_out, row_out + row_floats, 0.f);
      for (int k = 0; k < n; ++k) {
        const float* r = source_row(ty.start[y] + k);
        const f32x4 wk = vec::load_splat(w + k);
        size_t j = 0;
        for (; j + 4 <= row_floats; j += 4) vec::store(row_out + j, vec::madd(vec::load(row_out + j), wk, vec::load(r + j)));
        for (; j < row_floats; ++j) row_out[j] += w[k] * r[j];
      }
    }
    // Normalise and split into planes.
    float* o = out + size_t(y) * W;
    if constexpr (kOutChannels == 3) {
      const f32x4 m = vec::load(mul), a = vec::load(add);
      alignas(16) float px[4];
      for (int x = 0; x < W; ++x) {
        vec::store(px, vec::add(vec::mul(vec::load(row_out + 4 * size_t(x)), m), a));
        o[x] = px[0];
        o[plane + x] = px[1];
        o[2 * plane + x] = px[2];
      }
    } else {
      const f32x4 m = vec::splat(mul[0]), a = vec::splat(add[0]);
      int x = 0;
      for (; x + 4 <= W; x += 4) vec::store(o + x, vec::add(vec::mul(vec::load(row_out + x), m), a));
      for (; x < W; ++x) o[x] = row_out[x] * mul[0] + add[0];
    }
  }
}

// One contiguous block of output rows per thread (not the kernels' finer
// ranges): each block recomputes the few source rows its first output row
// shares with the block before it, so fewer blocks waste less.
template <int kOutChannels, int kInChannels>
void preprocess_fast(const ImageView& image, const PreprocessSpec& spec, float* out, const kernels::Parallel& par) {
  const int H = spec.height;
  // A small image is not worth a hand-off (~kMinParallelMacs of work).
  const int64_t work = int64_t(image.width) * image.height * kInChannels + int64_t(H) * spec.width * 8;
  const int blocks = work < 4 * kernels::kMinParallelMacs ? 1 : std::min(par.threads(), H);
  if (blocks <= 1) return preprocess_rows<kOutChannels, kInChannels>(image, spec, out, 0, H);
  par.pool->run(blocks, [&](int i, int) {
    preprocess_rows<kOutChannels, kInChannels>(image, spec, out, int(int64_t(H) * i / blocks),
                                               int(int64_t(H) * (i + 1) / blocks));
  });
}

}  // namespace

void preprocess(const ImageView& image, const PreprocessSpec& spec, std::span<float> out,
                const kernels::Parallel& par) {
  check_preprocess_spec(spec);
  check_image(image, size_t(image.width) * image.height * image.channels);
  const int C = spec.channels;
  const size_t plane = size_t(spec.height) * spec.width;
  if (out.size() != plane * C)
    invalid("output holds " + std::to_string(out.size()) + " floats, expected " + std::to_string(plane * C));
  const int ic = image.channels;
  if (C == 3) {
    if (ic == 1) preprocess_fast<3, 1>(image, spec, out.data(), par);
    if (ic == 3) preprocess_fast<3, 3>(image, spec, out.data(), par);
    if (ic == 4) preprocess_fast<3, 4>(image, spec, out.data(), par);
  } else {
    if (ic == 1) preprocess_fast<1, 1>(image, spec, out.data(), par);
    if (ic == 3) preprocess_fast<1, 3>(image, spec, out.data(), par);
    if (ic == 4) preprocess_fast<1, 4>(image, spec, out.data(), par);
  }
}

std::vector<float> preprocess(const ImageView& image, const PreprocessSpec& spec, const kernels::Parallel& par) {
  check_preprocess_spec(spec);
  std::vector<float> out(size_t(spec.channels) * spec.height * spec.width);
  preprocess(image, spec, out, par);
  return out;
}

}  // namespace iciia
