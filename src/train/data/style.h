// Appearance transforms: how one client's camera, light and viewpoint change
// every image it takes (docs/design.md, "Adaptation": the style clients of
// `iciia eval`). A style is a set of parameters drawn once per client from a
// seed; `apply_style` applies it to an 8-bit image. The family:
//   geometry   rotation, shear, scale about the image centre (bilinear,
//              outside filled with 0: the datasets' dark background)
//   strokes    thickness: a 3x3 max (thicker bright strokes) or min filter
//   optics     Gaussian blur
//   light      contrast about mid-grey, brightness, gamma
//   sensor     Gaussian pixel noise (seeded per image: a style is a camera,
//              its noise differs from shot to shot)
// Every component is active with probability 1/2 and then uniform in its
// range (kStyleRanges), so styles range from mild to harsh. Deterministic:
// the draws use mt19937_64 and our own uniform/normal mappings, not the
// standard library's distributions (implementation-defined).
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "train/data/dataset.h"

namespace iciia::train::data {

struct Style {
  double rotation = 0;    // degrees
  double shear = 0;       // x += shear * y
  double scale = 1;       // > 1 enlarges
  int thickness = 0;      // +1 max filter, -1 min filter, 0 none
  double blur = 0;        // Gaussian sigma in pixels; 0 none
  double contrast = 1;    // v -> 0.5 + contrast * (v - 0.5)
  double brightness = 0;  // added, in [0, 1] units
  double gamma = 1;       // v -> v^gamma (after contrast and brightness, clamped to [0, 1])
  double noise = 0;       // std of the added Gaussian noise, [0, 1] units
  uint64_t noise_seed = 0;
  bool identity() const;
  std::string describe() const;  // "rot 7.1, blur 0.8, ..." or "identity"
};

// The bounds of every parameter a drawn style can take (tests check them).
struct StyleRanges {
  double rotation = 15, shear = 0.2, scale_min = 0.85, scale_max = 1.15, blur = 1.2, contrast_min = 0.5,
         contrast_max = 1.4, brightness = 0.15, gamma_min = 0.6, gamma_max = 1.6, noise = 0.08;
};
inline constexpr StyleRanges kStyleRanges{};

// One style from the generator's next draws.
Style draw_style(std::mt19937_64& rng);

// `image` under `style`: same size and channels, pixels in [0, 255]. The
// alpha channel of RGBA images is kept. `image_key` seeds the noise together
// with style.noise_seed (the same image and style give the same bytes).
// kInvalidArgument when the pixels do not match the size.
Image apply_style(const Image& image, const Style& style, uint64_t image_key);

// Uniform double in [0, 1) from 53 bits of the generator: portable.
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace iciia::train::data
