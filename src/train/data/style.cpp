#include "train/data/style.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "util/error.h"

namespace iciia::train::data {

namespace {

double uniform(std::mt19937_64& rng, double lo, double hi) { return lo + (hi - lo) * uniform01(rng); }

// Standard normal by Box-Muller (portable, unlike std::normal_distribution).
double normal(std::mt19937_64& rng) {
  const double u1 = 1.0 - uniform01(rng);  // (0, 1]: log stays finite
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// One channel as doubles in [0, 1], rows top to bottom.
using Plane = std::vector<double>;

// Inverse mapping of the affine map about the centre, bilinear, 0 outside.
Plane warp(const Plane& src, int w, int h, const Style& s) {
  const double t = s.rotation * M_PI / 180.0, c = std::cos(t), sn = std::sin(t);
  // Forward: p' = R * Sh * S * p, with Sh = [[1, shear], [0, 1]], S = scale * I.
  const double a = s.scale * c, b = s.scale * (c * s.shear - sn);
  const double cc = s.scale * sn, d = s.scale * (sn * s.shear + c);
  const double det = a * d - b * cc;
  const double ia = d / det, ib = -b / det, ic = -cc / det, id = a / det;
  const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  Plane out(src.size(), 0.0);
  auto at = [&](int x, int y) { return x < 0 || y < 0 || x >= w || y >= h ? 0.0 : src[static_cast<size_t>(y) * w + x]; };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double u = x - cx, v = y - cy;
      const double sx = ia * u + ib * v + cx, sy = ic * u + id * v + cy;
      const int x0 = static_cast<int>(std::floor(sx)), y0 = static_cast<int>(std::floor(sy));
      const double fx = sx - x0, fy = sy - y0;
      out[static_cast<size_t>(y) * w + x] = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
                                            fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
    }
  return out;
}

// 3x3 max (grow = true) or min filter; the border clamps.
Plane morph(const Plane& src, int w, int h, bool grow) {
  Plane out(src.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double v = src[static_cast<size_t>(y) * w + x];
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int xx = std::clamp(x + dx, 0, w - 1), yy = std::clamp(y + dy, 0, h - 1);
          const double u = src[static_cast<size_t>(yy) * w + xx];
          v = grow ? std::max(v, u) : std::min(v, u);
        }
      out[static_cast<size_t>(y) * w + x] = v;
    }
  return out;
}

// Separable Gaussian, radius ceil(3 sigma), edges clamped.
Plane blur(const Plane& src, int w, int h, double sigma) {
  const int r = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> k(static_cast<size_t>(2 * r + 1));
  double sum = 0;
  for (int i = -r; i <= r; ++i) sum += k[static_cast<size_t>(i + r)] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (double& v : k) v /= sum;
  Plane tmp(src.size()), out(src.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double v = 0;
      for (int i = -r; i <= r; ++i) v += k[static_cast<size_t>(i + r)] * src[static_cast<size_t>(y) * w + std::clamp(x + i, 0, w - 1)];
      tmp[static_cast<size_t>(y) * w + x] = v;
    }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double v = 0;
      for (int i = -r; i <= r; ++i) v += k[static_cast<size_t>(i + r)] * tmp[static_cast<size_t>(std::clamp(y + i, 0, h - 1)) * w + x];
      out[static_cast<size_t>(y) * w + x] = v;
    }
  return out;
}

}  // namespace

bool Style::identity() const {
  return rotation == 0 && shear == 0 && scale == 1 && thickness == 0 && blur == 0 && contrast == 1 &&
         brightness == 0 && gamma == 1 && noise == 0;
}

std::string Style::describe() const {
  if (identity()) return "identity";
  std::string out;
  char buf[64];
  auto add = [&](const char* name, double v, bool on) {
    if (!on) return;
    std::snprintf(buf, sizeof buf, "%s%s %.3g", out.empty() ? "" : ", ", name, v);
    out += buf;
  };
  add("rotation", rotation, rotation != 0);
  add("shear", shear, shear != 0);
  add("scale", scale, scale != 1);
  add("thickness", thickness, thickness != 0);
  add("blur", blur, blur != 0);
  add("contrast", contrast, contrast != 1);
  add("brightness", brightness, brightness != 0);
  add("gamma", gamma, gamma != 1);
  add("noise", noise, noise != 0);
  return out;
}

Style draw_style(std::mt19937_64& rng) {
  const StyleRanges& r = kStyleRanges;
  // Every component draws its coin and its value, active or not, so each
  // style takes the same number of draws (styles stay aligned across seeds'
  // streams when the family grows a component at the end).
  auto maybe = [&](double lo, double hi, double off) {
    const bool on = uniform01(rng) < 0.5;
    const double v = uniform(rng, lo, hi);
    return on ? v : off;
  };
  Style s;
  s.rotation = maybe(-r.rotation, r.rotation, 0);
  s.shear = maybe(-r.shear, r.shear, 0);
  s.scale = maybe(r.scale_min, r.scale_max, 1);
  const double thick = maybe(-1, 1, 0);
  s.thickness = thick > 0 ? 1 : thick < 0 ? -1 : 0;
  s.blur = maybe(0.3, r.blur, 0);
  s.contrast = maybe(r.contrast_min, r.contrast_max, 1);
  s.brightness = maybe(-r.brightness, r.brightness, 0);
  s.gamma = maybe(r.gamma_min, r.gamma_max, 1);
  s.noise = maybe(0.01, r.noise, 0);
  s.noise_seed = rng();
  return s;
}

Image apply_style(const Image& image, const Style& s, uint64_t image_key) {
  const int w = image.width, h = image.height, ch = image.channels;
  if (w < 1 || h < 1 || ch < 1 || ch > 4 ||
      image.pixels.size() != static_cast<size_t>(w) * static_cast<size_t>(h) * static_cast<size_t>(ch))
    throw Error(ErrorCode::kInvalidArgument, "apply_style: image " + std::to_string(w) + "x" + std::to_string(h) + "x" +
                                                 std::to_string(ch) + " holds " + std::to_string(image.pixels.size()) +
                                                 " bytes");
  if (!(s.scale > 0) || !(s.blur >= 0) || !(s.gamma > 0) || !(s.noise >= 0))
    throw Error(ErrorCode::kInvalidArgument, "apply_style: style out of range (" + s.describe() + ")");
  Image out = image;
  // The noise of (style, image): SplitMix-style mix so neighbouring keys differ.
  uint64_t key = s.noise_seed ^ (image_key + 0x9E3779B97F4A7C15ull);
  key = (key ^ (key >> 30)) * 0xBF58476D1CE4E5B9ull;
  key = (key ^ (key >> 27)) * 0x94D049BB133111EBull;
  std::mt19937_64 noise_rng(key ^ (key >> 31));
  const int colour = ch == 4 ? 3 : ch;  // alpha is kept as is
  const size_t n = static_cast<size_t>(w) * h;
  for (int c = 0; c < colour; ++c) {
    Plane p(n);
    for (size_t i = 0; i < n; ++i) p[i] = image.pixels[i * ch + c] / 255.0;
    if (s.rotation != 0 || s.shear != 0 || s.scale != 1) p = warp(p, w, h, s);
    if (s.thickness != 0) p = morph(p, w, h, s.thickness > 0);
    if (s.blur > 0) p = blur(p, w, h, s.blur);
    for (size_t i = 0; i < n; ++i) {
      double v = 0.5 + s.contrast * (p[i] - 0.5) + s.brightness;
      v = std::pow(std::clamp(v, 0.0, 1.0), s.gamma);
      if (s.noise > 0) v += s.noise * normal(noise_rng);
      out.pixels[i * ch + c] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
    }
  }
  return out;
}

}  // namespace iciia::train::data
