// The scalar reference of preprocess (src/pipeline/preprocess.cpp): the
// arithmetic written out plainly, one channel plane at a time. The fast path
// is tested against it (bit for bit) and benchmarked against it
// (tests/bench/preprocess_bench.cpp). Compiled without auto-vectorisation,
// like the kernel references.
#include <algorithm>
#include <string>
#include <vector>

#include "pipeline/preprocess.h"
#include "pipeline/resize_taps.h"
#include "util/error.h"

namespace iciia::ref {

void preprocess(const ImageView& image, const PreprocessSpec& spec, std::span<float> out) {
  check_preprocess_spec(spec);
  check_image(image, size_t(image.width) * image.height * image.channels);
  const int C = spec.channels, H = spec.height, W = spec.width;
  const size_t plane = size_t(H) * W;
  if (out.size() != plane * C)
    throw Error(ErrorCode::kInvalidArgument, "preprocess: output holds " + std::to_string(out.size()) +
                                                 " floats, expected " + std::to_string(plane * C));

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
  const ResizeTaps tx = make_resize_taps(iw, W), ty = make_resize_taps(ih, H);
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

}  // namespace iciia::ref
