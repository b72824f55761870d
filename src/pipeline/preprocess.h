// Pixels in, backbone input out: the one preprocessing routine used by the
// browser (through wasm), the Node package and `iciia extract`, so the
// features a model is trained on and the ones it sees on the client come from
// the same arithmetic.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/parallel.h"

namespace iciia {

// 8-bit pixels, rows top to bottom, channels interleaved.
struct ImageView {
  const uint8_t* data = nullptr;
  int width = 0, height = 0;
  int channels = 0;  // 1 gray, 3 RGB, 4 RGBA (alpha is ignored)
};

// What the manifest's "preprocess" says: out = (pixel * scale - mean[c]) / std[c].
struct PreprocessSpec {
  int height = 0, width = 0;
  int channels = 0;  // 1 or 3
  float scale = 1.0f / 255.0f;
  std::vector<float> mean, std;  // one value per channel
};

// Largest accepted input side and pixel count; larger inputs are a
// kInvalidArgument error rather than a multi-gigabyte allocation.
inline constexpr int kMaxImageSide = 16384;
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// Throws kInvalidArgument naming the field when the spec is unusable.
void check_preprocess_spec(const PreprocessSpec& spec);
// Throws kInvalidArgument when the image is empty, too large or has an
// unsupported channel count; `byte_length` is the size of the buffer behind
// data, checked against width * height * channels.
void check_image(const ImageView& image, size_t byte_length);

// NCHW (one image): [spec.channels][spec.height][spec.width].
// Colour conversion: gray -> RGB replicates, RGB -> gray uses the ITU-R
// BT.601 luma weights. Resizing is separable linear interpolation with pixel
// centres at half-integers (torch's align_corners=False); when shrinking, the
// filter widens by the scale factor so every source pixel contributes (an
// area-like average instead of aliasing, as PIL's bilinear does).
// `par`: the output rows are split over its threads in contiguous blocks; the
// result is the same bit for bit on any number of threads.
void preprocess(const ImageView& image, const PreprocessSpec& spec, std::span<float> out,
                const kernels::Parallel& par = {});
std::vector<float> preprocess(const ImageView& image, const PreprocessSpec& spec, const kernels::Parallel& par = {});

// The scalar reference (src/pipeline/ref/preprocess_ref.cpp): same contract
// and, operation for operation, the same arithmetic, so preprocess() must
// match it bit for bit. For tests and benchmarks.
namespace ref {
void preprocess(const ImageView& image, const PreprocessSpec& spec, std::span<float> out);
}  // namespace ref

}  // namespace iciia
