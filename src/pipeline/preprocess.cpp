#include "pipeline/preprocess.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "util/error.h"

namespace iciia {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "preprocess: " + message);
}

// For each output position, the first contributing source index and the
// normalised weights of the contributing source pixels.
struct Taps {
  std::vector<int> first, count;
  std::vector<float> weights;  // count[o] entries per output, at offset[o]
  std::vector<int> offset;
};

Taps make_taps(int in_size, int out_size) {
  Taps taps;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.offset.resize(out_size);
  const double scale = static_cast<double>(in_size) / out_size;
  const double support = std::max(1.0, scale);  // half-width of the triangle, in source pixels
  for (int o = 0; o < out_size; ++o) {
    const double centre = (o + 0.5) * scale;  // in source coordinates, pixel i spans [i, i+1)
    int lo = static_cast<int>(std::floor(centre - support));
    int hi = static_cast<int>(std::ceil(centre + support));
    lo = std::max(lo, 0);
    hi = std::min(hi, in_size);
    taps.offset[o] = static_cast<int>(taps.weights.size());
    double sum = 0;
    std::vector<double> w;
    for (int i = lo; i < hi; ++i) {
      const double d = std::abs((i + 0.5 - centre) / support);
      w.push_back(d < 1 ? 1 - d : 0);
      sum += w.back();
    }
    // Trim zero-weight ends so the inner loops stay short.
    int begin = 0, end = static_cast<int>(w.size());
    while (begin < end && w[begin] == 0) ++begin;
    while (end > begin && w[end - 1] == 0) --end;
    if (begin == end) {  // cannot happen for support >= 1, but never divide by 0
      begin = 0;
      end = 1;
      w[0] = sum = 1;
    }
    taps.first[o] = lo + begin;
    taps.count[o] = end - begin;
    for (int i = begin; i < end; ++i) taps.weights.push_back(static_cast<float>(w[i] / sum));
  }
  return taps;
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

void preprocess(const ImageView& image, const PreprocessSpec& spec, std::span<float> out) {
  check_preprocess_spec(spec);
  check_image(image, size_t(image.width) * image.height * image.channels);
  const int C = spec.channels, H = spec.height, W = spec.width;
  const size_t plane = size_t(H) * W;
  if (out.size() != plane * C)
    invalid("output holds " + std::to_string(out.size()) + " floats, expected " + std::to_string(plane * C));

  // 1) Colour conversion to the model's channel count, in float pixel units.
  const int iw = image.width, ih = image.height, ic = image.channels;
  const size_t in_plane = size_t(iw) * ih;
  std::vector<float> src(in_plane * C);
  const uint8_t* p = image.data;
  for (size_t i = 0; i < in_plane; ++i, p += ic) {
    if (C == 1) {
      src[i] = ic == 1 ? p[0] : 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    } else {
      for (int c = 0; c < 3; ++c) src[c * in_plane + i] = ic == 1 ? p[0] : p[c];
    }
  }

  // 2) Separable resize per channel (horizontal, then vertical), skipped on
  // an axis whose size already matches so the identity case is exact.
  const Taps tx = make_taps(iw, W), ty = make_taps(ih, H);
  std::vector<float> rows(size_t(ih) * W);
  for (int c = 0; c < C; ++c) {
    const float* s = src.data() + c * in_plane;
    if (iw == W) {
      std::copy(s, s + in_plane, rows.begin());
    } else {
      for (int y = 0; y < ih; ++y)
        for (int x = 0; x < W; ++x) {
          const float* w = tx.weights.data() + tx.offset[x];
          const float* r = s + size_t(y) * iw + tx.first[x];
          float acc = 0;
          for (int k = 0; k < tx.count[x]; ++k) acc += w[k] * r[k];
          rows[size_t(y) * W + x] = acc;
        }
    }
    // 3) Normalise while writing the vertical pass.
    const float mul = spec.scale / spec.std[c], add = -spec.mean[c] / spec.std[c];
    float* o = out.data() + c * plane;
    for (int y = 0; y < H; ++y) {
      if (ih == H) {
        for (int x = 0; x < W; ++x) o[size_t(y) * W + x] = rows[size_t(y) * W + x] * mul + add;
        continue;
      }
      const float* w = ty.weights.data() + ty.offset[y];
      for (int x = 0; x < W; ++x) {
        float acc = 0;
        for (int k = 0; k < ty.count[y]; ++k) acc += w[k] * rows[size_t(ty.first[y] + k) * W + x];
        o[size_t(y) * W + x] = acc * mul + add;
      }
    }
  }
}

std::vector<float> preprocess(const ImageView& image, const PreprocessSpec& spec) {
  check_preprocess_spec(spec);
  std::vector<float> out(size_t(spec.channels) * spec.height * spec.width);
  preprocess(image, spec, out);
  return out;
}

}  // namespace iciia
