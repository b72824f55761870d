// The appearance transforms of style clients (src/train/data/style.h) and the
// styled copy of a data set (styled_set.h): deterministic, bounded, and each
// component doing what it says on images where the answer is known.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "test_support.h"
#include "train/data/style.h"
#include "train/data/styled_set.h"

namespace iciia {
namespace {

using train::data::Image;
using train::data::Style;

Image gradient(int w, int h, int channels) {
  Image im{w, h, channels, {}};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) im.pixels.push_back(static_cast<uint8_t>((x * 9 + y * 5 + c * 40) % 256));
  return im;
}

int bright_pixels(const Image& im) {
  return static_cast<int>(std::count_if(im.pixels.begin(), im.pixels.end(), [](uint8_t p) { return p > 127; }));
}

TEST(Style, DrawsAreDeterministicAndWithinTheirRanges) {
  std::mt19937_64 a(7), b(7);
  const auto& r = train::data::kStyleRanges;
  int active[9] = {};
  for (int i = 0; i < 400; ++i) {
    const Style s = train::data::draw_style(a), t = train::data::draw_style(b);
    EXPECT_EQ(s.describe(), t.describe());
    EXPECT_EQ(s.noise_seed, t.noise_seed);
    EXPECT_LE(std::fabs(s.rotation), r.rotation);
    EXPECT_LE(std::fabs(s.shear), r.shear);
    EXPECT_TRUE(s.scale >= r.scale_min && s.scale <= r.scale_max);
    EXPECT_TRUE(s.thickness >= -1 && s.thickness <= 1);
    EXPECT_TRUE(s.blur >= 0 && s.blur <= r.blur);
    EXPECT_TRUE(s.contrast >= r.contrast_min && s.contrast <= r.contrast_max);
    EXPECT_LE(std::fabs(s.brightness), r.brightness);
    EXPECT_TRUE(s.gamma >= r.gamma_min && s.gamma <= r.gamma_max);
    EXPECT_TRUE(s.noise >= 0 && s.noise <= r.noise);
    const bool on[9] = {s.rotation != 0, s.shear != 0, s.scale != 1, s.thickness != 0, s.blur != 0,
                        s.contrast != 1, s.brightness != 0, s.gamma != 1, s.noise != 0};
    for (int k = 0; k < 9; ++k) active[k] += on[k];
  }
  // Each component is on about half the time (binomial, 400 draws: 200 +- 10).
  for (int k = 0; k < 9; ++k) {
    EXPECT_GT(active[k], 150) << "component " << k;
    EXPECT_LT(active[k], 250) << "component " << k;
  }
}

TEST(Style, IdentityKeepsEveryByte) {
  const Image im = gradient(13, 9, 3);
  EXPECT_TRUE(Style{}.identity());
  EXPECT_EQ(train::data::apply_style(im, Style{}, 5).pixels, im.pixels);
}

TEST(Style, SameImageAndStyleGiveTheSameBytesNoiseDiffersPerImage) {
  const Image im = gradient(28, 28, 1);
  Style s;
  s.noise = 0.05;
  s.rotation = 9;
  s.blur = 0.7;
  s.noise_seed = 99;
  const Image a = train::data::apply_style(im, s, 3), b = train::data::apply_style(im, s, 3);
  const Image c = train::data::apply_style(im, s, 4);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_NE(a.pixels, c.pixels);
  EXPECT_EQ(a.width, 28);
  EXPECT_EQ(a.height, 28);
  EXPECT_EQ(a.channels, 1);
}

TEST(Style, ComponentsDoWhatTheySay) {
  // A single bright pixel in the middle of a dark image.
  Image dot{9, 9, 1, std::vector<uint8_t>(81, 0)};
  dot.pixels[4 * 9 + 4] = 255;
  Style thick;
  thick.thickness = 1;
  EXPECT_EQ(bright_pixels(train::data::apply_style(dot, thick, 0)), 9);  // 3x3 max filter
  thick.thickness = -1;
  EXPECT_EQ(bright_pixels(train::data::apply_style(dot, thick, 0)), 0);  // 3x3 min filter
  // A rotation by 90 degrees about the centre maps the pixel right of centre to below it.
  Image right{9, 9, 1, std::vector<uint8_t>(81, 0)};
  right.pixels[4 * 9 + 6] = 255;
  Style rot;
  rot.rotation = 90;
  const Image r = train::data::apply_style(right, rot, 0);
  EXPECT_EQ(r.pixels[6 * 9 + 4], 255);
  EXPECT_EQ(bright_pixels(r), 1);
  // Contrast 0 maps everything to mid-grey; gamma 2 squares a grey level.
  Style flat;
  flat.contrast = 0;
  const Image f = train::data::apply_style(gradient(5, 5, 1), flat, 0);
  EXPECT_TRUE(std::all_of(f.pixels.begin(), f.pixels.end(), [](uint8_t p) { return p == 128; }));
  Style g;
  g.gamma = 2;
  const Image grey{1, 1, 1, {128}};
  EXPECT_EQ(train::data::apply_style(grey, g, 0).pixels[0], static_cast<uint8_t>(std::lround(255 * std::pow(128 / 255.0, 2))));
  // Blur keeps the total brightness of a centred dot (the kernel sums to 1).
  Style blur;
  blur.blur = 0.8;
  const Image bl = train::data::apply_style(dot, blur, 0);
  int sum = 0;
  for (uint8_t p : bl.pixels) sum += p;
  EXPECT_NEAR(sum, 255, 9);  // rounding of 81 pixels
  EXPECT_LT(bl.pixels[4 * 9 + 4], 255);
}

TEST(Style, KeepsAlphaAndRejectsBadInput) {
  Image rgba = gradient(4, 4, 4);
  Style s;
  s.brightness = 0.1;
  const Image out = train::data::apply_style(rgba, s, 0);
  for (size_t i = 3; i < out.pixels.size(); i += 4) EXPECT_EQ(out.pixels[i], rgba.pixels[i]);
  rgba.pixels.pop_back();
  test::expect_error([&] { train::data::apply_style(rgba, s, 0); }, ErrorCode::kInvalidArgument, {"4x4x4", "63 bytes"});
  Style bad;
  bad.scale = 0;
  test::expect_error([&] { train::data::apply_style(gradient(2, 2, 1), bad, 0); }, ErrorCode::kInvalidArgument,
                     {"out of range"});
}

train::data::Dataset tiny_dataset(int n) {
  train::data::Dataset d;
  d.source = "tiny";
  d.class_names = {"a", "b", "c"};
  for (int i = 0; i < n; ++i) {
    d.images.push_back(gradient(6, 6, 1));
    d.images.back().pixels[0] = static_cast<uint8_t>(i);
    d.labels.push_back(i % 3);
  }
  return d;
}

TEST(StyledSet, StyleMajorLayoutWithSourcesAndLabels) {
  const auto d = tiny_dataset(20);
  const auto s = train::data::styled_dataset(d, 4, 5, 11);
  ASSERT_EQ(s.data.images.size(), 20u);
  ASSERT_EQ(s.params.size(), 4u);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(s.styles[i], static_cast<int32_t>(i / 5));
    EXPECT_EQ(s.sources[i], s.sources[i % 5]);  // the same 5 images under every style
    EXPECT_EQ(s.data.labels[i], d.labels[static_cast<size_t>(s.sources[i])]);
    EXPECT_EQ(s.data.images[i].pixels,
              train::data::apply_style(d.images[static_cast<size_t>(s.sources[i])], s.params[i / 5],
                                       static_cast<uint64_t>(s.sources[i]))
                  .pixels);
  }
  EXPECT_TRUE(std::is_sorted(s.sources.begin(), s.sources.begin() + 5));
  // Deterministic per seed; another seed draws other images or styles.
  const auto again = train::data::styled_dataset(d, 4, 5, 11);
  EXPECT_EQ(again.sources, s.sources);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(again.data.images[i].pixels, s.data.images[i].pixels);
  const auto other = train::data::styled_dataset(d, 4, 5, 12);
  EXPECT_NE(other.params[0].noise_seed, s.params[0].noise_seed);
}

TEST(StyledSet, BoundsAreChecked) {
  const auto d = tiny_dataset(10);
  test::expect_error([&] { train::data::styled_dataset(d, 0, 5, 1); }, ErrorCode::kInvalidArgument, {"--styles (0)"});
  test::expect_error([&] { train::data::styled_dataset(d, 2, 11, 1); }, ErrorCode::kInvalidArgument,
                     {"--style-images 11", "10 images"});
  test::expect_error([&] { train::data::styled_dataset(d, 1'000'000, 10, 1); }, ErrorCode::kLimit, {"exceeds"});
}

}  // namespace
}  // namespace iciia
