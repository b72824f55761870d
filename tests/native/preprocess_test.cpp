#include "pipeline/preprocess.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "test_support.h"

namespace iciia {
namespace {

PreprocessSpec spec(int h, int w, int c) {
  PreprocessSpec s;
  s.height = h;
  s.width = w;
  s.channels = c;
  s.scale = 1.0f / 255.0f;
  s.mean.assign(c, 0.0f);
  s.std.assign(c, 1.0f);
  return s;
}

std::vector<uint8_t> ramp(int w, int h, int c) {
  std::vector<uint8_t> px(size_t(w) * h * c);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 29 + 7) % 256);
  return px;
}

TEST(Preprocess, SameSizeIsExactNormalisation) {
  const auto px = ramp(5, 3, 1);
  PreprocessSpec s = spec(3, 5, 1);
  s.mean = {0.25f};
  s.std = {0.5f};
  const auto out = preprocess({px.data(), 5, 3, 1}, s);
  ASSERT_EQ(out.size(), 15u);
  for (size_t i = 0; i < 15; ++i) EXPECT_NEAR(out[i], (px[i] / 255.0f - 0.25f) / 0.5f, 1e-6) << i;
}

TEST(Preprocess, RgbaToGrayUsesLumaAndIgnoresAlpha) {
  const std::vector<uint8_t> px = {255, 0, 0, 0, 0, 255, 0, 255, 0, 0, 255, 7, 10, 10, 10, 255};
  const auto out = preprocess({px.data(), 4, 1, 4}, spec(1, 4, 1));
  EXPECT_NEAR(out[0], 0.299f, 1e-5);
  EXPECT_NEAR(out[1], 0.587f, 1e-5);
  EXPECT_NEAR(out[2], 0.114f, 1e-5);
  EXPECT_NEAR(out[3], 10 / 255.0f, 1e-5);
}

TEST(Preprocess, GrayToRgbReplicatesIntoPlanes) {
  const auto px = ramp(3, 2, 1);
  const auto out = preprocess({px.data(), 3, 2, 1}, spec(2, 3, 3));
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(out[c * 6 + i], px[i] / 255.0f);
}

TEST(Preprocess, RgbGoesToNchwPlanes) {
  const auto px = ramp(2, 2, 3);
  const auto out = preprocess({px.data(), 2, 2, 3}, spec(2, 2, 3));
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(out[c * 4 + i], px[i * 3 + c] / 255.0f);
}

TEST(Preprocess, ConstantImageStaysConstantAtAnyScale) {
  for (auto [w, h, W, H] : std::vector<std::array<int, 4>>{{7, 5, 28, 28}, {640, 480, 28, 28}, {3, 300, 17, 9}}) {
    std::vector<uint8_t> px(size_t(w) * h * 3, 200);
    const auto out = preprocess({px.data(), w, h, 3}, spec(H, W, 1));
    for (float v : out) ASSERT_NEAR(v, 200 / 255.0f, 1e-5) << w << "x" << h;
  }
}

// Upscaling is plain bilinear with half-pixel centres: compare against the
// formula written out directly.
TEST(Preprocess, UpscaleMatchesBilinearFormula) {
  const int w = 4, h = 3, W = 11, H = 7;
  const auto px = ramp(w, h, 1);
  const auto out = preprocess({px.data(), w, h, 1}, spec(H, W, 1));
  auto at = [&](int x, int y) { return px[std::clamp(y, 0, h - 1) * w + std::clamp(x, 0, w - 1)] / 255.0; };
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const double sx = std::max(0.0, (x + 0.5) * w / W - 0.5), sy = std::max(0.0, (y + 0.5) * h / H - 0.5);
      const int x0 = int(sx), y0 = int(sy);
      const double fx = sx - x0, fy = sy - y0;
      const double expect = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
                            fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      EXPECT_NEAR(out[y * W + x], expect, 1e-5) << x << "," << y;
    }
}

// Halving averages 2x2-ish neighbourhoods: a one-pixel checkerboard must
// come out flat grey, not aliased into stripes.
TEST(Preprocess, DownscaleAveragesInsteadOfAliasing) {
  const int n = 64;
  std::vector<uint8_t> px(n * n);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) px[y * n + x] = ((x + y) % 2) ? 255 : 0;
  const auto out = preprocess({px.data(), n, n, 1}, spec(8, 8, 1));
  for (int y = 1; y < 7; ++y)
    for (int x = 1; x < 7; ++x) EXPECT_NEAR(out[y * 8 + x], 0.5, 0.02) << x << "," << y;
}

TEST(Preprocess, BadImagesAndSpecsAreTypedErrors) {
  const auto px = ramp(4, 4, 4);
  const auto s = spec(2, 2, 1);
  test::expect_error([&] { check_image({px.data(), 4, 4, 2}, 32); }, ErrorCode::kInvalidArgument, {"channels must be 1 (gray), 3 (RGB) or 4"});
  test::expect_error([&] { check_image({px.data(), 0, 4, 4}, 0); }, ErrorCode::kInvalidArgument, {"at least 1x1"});
  test::expect_error([&] { check_image({px.data(), 4, 4, 4}, 63); }, ErrorCode::kInvalidArgument, {"needs 64"});
  test::expect_error([&] { check_image({px.data(), 20000, 1, 1}, 20000); }, ErrorCode::kInvalidArgument, {"exceeds the limit"});
  PreprocessSpec bad = s;
  bad.std = {0.0f};
  test::expect_error([&] { preprocess({px.data(), 4, 4, 4}, bad); }, ErrorCode::kInvalidArgument, {"std[0]"});
  bad = s;
  bad.mean = {0.1f, 0.2f};
  test::expect_error([&] { preprocess({px.data(), 4, 4, 4}, bad); }, ErrorCode::kInvalidArgument, {"one value per channel"});
}

}  // namespace
}  // namespace iciia
