// The CNN kernels (conv paths, depthwise, pooling, activations) against their
// scalar references, over odd shapes: channel counts off the vector width,
// strides with odd sizes, asymmetric padding, dilation, groups, 1x1 inputs,
// batch 2, every epilogue with and without a residual.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/activation.h"
#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "kernels/pool.h"
#include "kernels/vec.h"
#include "test_support.h"
#include "util/error.h"

namespace iciia::kernels {
namespace {

using test::random_floats;

std::vector<Epilogue> all_epilogues() {
  return {Epilogue::none(),      Epilogue::relu(),      Epilogue::relu6(),          Epilogue::clip(-0.5f, 0.25f),
          Epilogue::hardswish(), Epilogue::hardsigmoid(), Epilogue::hardsigmoid(1.f / 6, 0.5f), Epilogue::sigmoid(),
          Epilogue::silu()};
}

std::string describe(const Epilogue& ep) {
  return std::string(act_kind_name(ep.kind)) + "(" + std::to_string(ep.p0) + "," + std::to_string(ep.p1) + ")";
}

// Largest |got - want| / (1 + |want|); fails on a NaN anywhere in got.
float max_rel_err(const std::vector<float>& want, const std::vector<float>& got) {
  EXPECT_EQ(want.size(), got.size());
  float m = 0.f;
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    if (std::isnan(got[i])) return std::numeric_limits<float>::infinity();
    m = std::max(m, std::fabs(got[i] - want[i]) / (1.f + std::fabs(want[i])));
  }
  return m;
}

// ---------------------------------------------------------------- activations

TEST(ActivationExp, MatchesStdExpOverTheNormalRange) {
  float worst = 0.f, worst_x = 0.f;
  alignas(16) float x[4], y[4];
  for (double v = -87.3; v <= 88.7; v += 0.00731) {
    for (int j = 0; j < 4; ++j) x[j] = static_cast<float>(v + j * 0.0017);
    vec::store(y, vec::exp(vec::load(x)));
    for (int j = 0; j < 4; ++j) {
      const double want = std::exp(static_cast<double>(x[j]));
      const float rel = static_cast<float>(std::fabs(y[j] - want) / want);
      if (!(rel <= worst)) worst = rel, worst_x = x[j];
    }
  }
  EXPECT_LE(worst, 1e-6f) << "at x = " << worst_x;
}

TEST(ActivationExp, SaturatesWithoutSurprises) {
  alignas(16) float x[4], y[4];
  const float big[] = {88.8f, 89.f, 100.f, 1e30f, std::numeric_limits<float>::infinity()};
  for (float b : big) {
    x[0] = x[1] = x[2] = x[3] = b;
    vec::store(y, vec::exp(vec::load(x)));
    EXPECT_TRUE(std::isinf(y[0]) && y[0] > 0) << b << " -> " << y[0];
  }
  const float small[] = {-87.4f, -90.f, -104.f, -1e30f, -std::numeric_limits<float>::infinity()};
  for (float s : small) {
    x[0] = x[1] = x[2] = x[3] = s;
    vec::store(y, vec::exp(vec::load(x)));
    EXPECT_EQ(y[0], 0.f) << s;
  }
  // Just inside the ends: finite, accurate.
  x[0] = 88.72f, x[1] = -87.33f, x[2] = 0.f, x[3] = 88.0001f;
  vec::store(y, vec::exp(vec::load(x)));
  for (int j = 0; j < 4; ++j) {
    ASSERT_TRUE(std::isfinite(y[j])) << x[j];
    EXPECT_NEAR(y[j] / std::exp(static_cast<double>(x[j])), 1.0, 1e-6) << x[j];
  }
  EXPECT_EQ(y[2], 1.f);
}

class ActivationKinds : public ::testing::TestWithParam<int> {};

TEST_P(ActivationKinds, MatchReferenceWithAndWithoutResidual) {
  const int n = GetParam();
  auto x = random_floats(n, 100 + n, -10.f, 10.f);
  // Extremes at the front: saturations, exp overflow, -0.
  const float extremes[] = {-1e30f, -100.f, -88.f, -3.f, -0.f, 0.f, 3.f, 88.f, 100.f, 1e30f};
  for (int i = 0; i < n && i < 10; ++i) x[i] = extremes[i];
  const auto res = random_floats(n, 200 + n, -2.f, 2.f);
  for (const Epilogue& ep : all_epilogues()) {
    for (bool with_res : {false, true}) {
      std::vector<float> want(n), got(n, NAN);
      for (int i = 0; i < n; ++i) want[i] = ref::activate(ep, x[i] + (with_res ? res[i] : 0.f));
      apply_activation(ep, x.data(), with_res ? res.data() : nullptr, got.data(), n);
      for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(std::isfinite(got[i])) << describe(ep) << " x=" << x[i];
        EXPECT_NEAR(got[i], want[i], 2e-6f * (1.f + std::fabs(want[i]))) << describe(ep) << " x=" << x[i];
      }
    }
    // In place.
    auto y = x;
    apply_activation(ep, y.data(), n);
    for (int i = 0; i < n; ++i) EXPECT_NEAR(y[i], ref::activate(ep, x[i]), 2e-6f * (1.f + std::fabs(y[i])));
  }
}

INSTANTIATE_TEST_SUITE_P(ActivationOddSizes, ActivationKinds, ::testing::Values(1, 3, 5, 7, 13, 16, 17, 33, 100));

TEST(ActivationKinds, SigmoidIsBoundedAndMonotone) {
  std::vector<float> x;
  for (float v = -120.f; v <= 120.f; v += 0.173f) x.push_back(v);
  auto y = x;
  apply_activation(Epilogue::sigmoid(), y.data(), y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    ASSERT_GE(y[i], 0.f);
    ASSERT_LE(y[i], 1.f);
    if (i > 0) {
      ASSERT_GE(y[i], y[i - 1]) << x[i];
    }
  }
  EXPECT_EQ(y.front(), 0.f);
  EXPECT_EQ(y.back(), 1.f);
}

// ---------------------------------------------------------------------- conv

struct ConvCase {
  const char* name;
  Conv2dParams p;
  int n, h, w;
  PackedConv2d::Path path;
};

Conv2dParams conv(int ic, int oc, int k, int s = 1, int pad = 0, int groups = 1) {
  Conv2dParams p;
  p.in_channels = ic;
  p.out_channels = oc;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = s;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.groups = groups;
  return p;
}
Conv2dParams pads(Conv2dParams p, int t, int l, int b, int r) {
  p.pad_top = t, p.pad_left = l, p.pad_bottom = b, p.pad_right = r;
  return p;
}
Conv2dParams dilated(Conv2dParams p, int dh, int dw) {
  p.dilation_h = dh, p.dilation_w = dw;
  return p;
}
Conv2dParams kernel(Conv2dParams p, int kh, int kw) {
  p.kernel_h = kh, p.kernel_w = kw;
  return p;
}
Conv2dParams strides(Conv2dParams p, int sh, int sw) {
  p.stride_h = sh, p.stride_w = sw;
  return p;
}

using P = PackedConv2d::Path;

const ConvCase kConvCases[] = {
    // 1x1, stride 1: the plain GEMM; row counts off 4 and 6, channels off 4 and 8
    {"pw_13_17", conv(13, 17, 1), 2, 5, 7, P::kGemm1x1},
    {"pw_1_3", conv(1, 3, 1), 2, 3, 3, P::kGemm1x1},
    {"pw_7_5_1x1", conv(7, 5, 1), 2, 1, 1, P::kGemm1x1},
    {"pw_64_24", conv(64, 24, 1), 1, 4, 5, P::kGemm1x1},
    {"pw_96_40", conv(96, 40, 1), 2, 3, 3, P::kGemm1x1},
    // depthwise: 3x3 / 5x5 unrolled, generic; stride 2 on odd sizes; asymmetric pads
    {"dw3_s1_c3", conv(3, 3, 3, 1, 1, 3), 2, 5, 6, P::kDepthwise},
    {"dw3_s1_c16", conv(16, 16, 3, 1, 1, 16), 2, 7, 5, P::kDepthwise},
    {"dw3_s2_c13", conv(13, 13, 3, 2, 1, 13), 2, 9, 7, P::kDepthwise},
    {"dw3_s2_c24_asym", pads(conv(24, 24, 3, 2, 0, 24), 0, 0, 1, 1), 2, 8, 9, P::kDepthwise},
    {"dw3_s1_c17_asym", pads(conv(17, 17, 3, 1, 0, 17), 2, 0, 0, 1), 1, 6, 5, P::kDepthwise},
    {"dw5_s1_c5", conv(5, 5, 5, 1, 2, 5), 2, 7, 8, P::kDepthwise},
    {"dw5_s2_c7", conv(7, 7, 5, 2, 2, 7), 2, 9, 11, P::kDepthwise},
    {"dw5_s2_c32_asym", pads(conv(32, 32, 5, 2, 0, 32), 1, 2, 2, 1), 1, 11, 10, P::kDepthwise},
    {"dw3_dil2_c8", dilated(conv(8, 8, 3, 1, 2, 8), 2, 2), 2, 7, 6, P::kDepthwise},
    {"dw3x5_c9", pads(kernel(conv(9, 9, 1, 1, 0, 9), 3, 5), 1, 2, 1, 2), 1, 4, 6, P::kDepthwise},
    {"dw7_s2_c12", conv(12, 12, 7, 2, 3, 12), 1, 9, 9, P::kDepthwise},
    {"dw3_1x1_input", conv(20, 20, 3, 1, 1, 20), 2, 1, 1, P::kDepthwise},
    {"dw5_small_input", conv(11, 11, 5, 1, 2, 11), 1, 2, 3, P::kDepthwise},
    // dense 3x3 and friends through the indirect GEMM (16+ channels per group)
    {"c3_16_13", conv(16, 13, 3, 1, 1), 2, 5, 6, P::kIndirect},
    {"c3_17_17_s2_asym", pads(conv(17, 17, 3, 2, 0), 1, 0, 0, 1), 2, 7, 9, P::kIndirect},
    {"c3_18_5_dil2", dilated(conv(18, 5, 3, 1, 2), 2, 2), 1, 6, 7, P::kIndirect},
    {"c1_s2_19_7", conv(19, 7, 1, 2, 0), 2, 7, 5, P::kIndirect},
    {"c1_pad_16_9", conv(16, 9, 1, 1, 1), 1, 3, 4, P::kIndirect},
    {"c3_g2_32_24", conv(32, 24, 3, 1, 1, 2), 2, 5, 5, P::kIndirect},
    {"c3_20_8_1x1_input", conv(20, 8, 3, 1, 1), 2, 1, 1, P::kIndirect},
    {"c2x3_s12_21_6", strides(pads(kernel(conv(21, 6, 1), 2, 3), 0, 1, 1, 1), 1, 2), 1, 5, 7, P::kIndirect},
    // few channels per group: im2col (contiguous row copies for interior
    // windows of ungrouped, undilated convs; tap by tap otherwise)
    {"c3_8_13", conv(8, 13, 3, 1, 1), 2, 5, 6, P::kIm2col},
    {"c3_13_9_s2_asym", pads(conv(13, 9, 3, 2, 0), 0, 1, 1, 0), 2, 9, 8, P::kIm2col},
    {"c3_g2_16_24", conv(16, 24, 3, 1, 1, 2), 2, 5, 5, P::kIm2col},
    {"c3_9_5_dil2", dilated(conv(9, 5, 3, 1, 2), 2, 2), 1, 6, 7, P::kIm2col},
    {"c1_s2_13_7", conv(13, 7, 1, 2, 0), 2, 7, 5, P::kIm2col},
    {"stem_3_16_s2", conv(3, 16, 3, 2, 1), 2, 11, 13, P::kIm2col},
    {"stem_3_8_s2_asym", pads(conv(3, 8, 3, 2, 0), 0, 0, 1, 1), 1, 9, 9, P::kIm2col},
    {"c3_5_7", conv(5, 7, 3, 1, 1), 1, 4, 5, P::kIm2col},
    {"c3_g3_6_9", conv(6, 9, 3, 1, 1, 3), 2, 5, 4, P::kIm2col},
    {"c3_g2_2_4_mult", conv(2, 4, 3, 2, 1, 2), 1, 7, 7, P::kIm2col},
    {"c3_single_channel", conv(1, 1, 3, 1, 1), 1, 4, 4, P::kIm2col},
    {"c5_dil2_3_4", dilated(conv(3, 4, 5, 1, 4), 2, 2), 1, 6, 5, P::kIm2col},
};

void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

class ConvKernel : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvKernel, MatchesReferenceForEveryEpilogue) {
  const ConvCase& tc = GetParam();
  const Conv2dParams& p = tc.p;
  const int taps = p.kernel_h * p.kernel_w, icg = p.in_channels / p.groups;
  const auto wt = random_floats(static_cast<size_t>(p.out_channels) * icg * taps, 7 + p.out_channels * 3 + taps);
  const auto bias = random_floats(p.out_channels, 11 + p.out_channels);
  const auto in = random_floats(static_cast<size_t>(tc.n) * tc.h * tc.w * p.in_channels, 13 + tc.h * 5 + tc.w, -2.f, 2.f);
  const int oh = p.out_h(tc.h), ow = p.out_w(tc.w);
  ASSERT_GT(oh, 0);
  ASSERT_GT(ow, 0);
  const size_t out_size = static_cast<size_t>(tc.n) * oh * ow * p.out_channels;
  const auto residual = random_floats(out_size, 17 + oh, -1.f, 1.f);
  const float tol = 1e-5f * std::sqrt(static_cast<float>(taps * icg)) * 4.f;

  for (const Epilogue& ep : all_epilogues()) {
    PackedConv2d packed(p, wt, bias, ep);
    ASSERT_EQ(packed.path(), tc.path) << PackedConv2d::path_name(packed.path());
    ASSERT_EQ(packed.out_h(tc.h), oh);
    ASSERT_EQ(packed.out_w(tc.w), ow);
    std::vector<float> scratch(packed.scratch_floats(tc.h, tc.w));
    for (bool with_res : {false, true}) {
      std::vector<float> want(out_size);
      ref::conv2d(p, wt.data(), bias.data(), ep, in.data(), tc.n, tc.h, tc.w, want.data(),
                  with_res ? residual.data() : nullptr);
      for (int tile : {4, 6, 1}) {
        packed.set_tile_rows(tile);
        std::vector<float> got(out_size, NAN);
        packed.run(in.data(), tc.n, tc.h, tc.w, got.data(), scratch.empty() ? nullptr : scratch.data(),
                   with_res ? residual.data() : nullptr);
        EXPECT_LE(max_rel_err(want, got), tol)
            << tc.name << " " << describe(ep) << (with_res ? " +residual" : "") << " tile " << tile;
        if (tc.path == P::kDepthwise) break;  // no GEMM tile there
      }
    }
  }
}

TEST_P(ConvKernel, ResidualMayAliasTheOutput) {
  const ConvCase& tc = GetParam();
  const Conv2dParams& p = tc.p;
  const int taps = p.kernel_h * p.kernel_w, icg = p.in_channels / p.groups;
  const auto wt = random_floats(static_cast<size_t>(p.out_channels) * icg * taps, 5);
  const auto in = random_floats(static_cast<size_t>(tc.n) * tc.h * tc.w * p.in_channels, 6);
  const size_t out_size = static_cast<size_t>(tc.n) * p.out_h(tc.h) * p.out_w(tc.w) * p.out_channels;
  const auto residual = random_floats(out_size, 8);
  std::vector<float> want(out_size);
  ref::conv2d(p, wt.data(), nullptr, Epilogue::relu(), in.data(), tc.n, tc.h, tc.w, want.data(), residual.data());
  PackedConv2d packed(p, wt, {}, Epilogue::relu());  // no bias: zeros
  std::vector<float> scratch(packed.scratch_floats(tc.h, tc.w));
  auto inout = residual;
  packed.run(in.data(), tc.n, tc.h, tc.w, inout.data(), scratch.data(), inout.data());
  EXPECT_LE(max_rel_err(want, inout), 1e-5f * std::sqrt(static_cast<float>(taps * icg)) * 4.f) << tc.name;
}

INSTANTIATE_TEST_SUITE_P(ConvOddShapes, ConvKernel, ::testing::ValuesIn(kConvCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DepthwiseKernel, MobileNetLikeShapesMatchReference) {
  // Channel counts of real blocks (multiples of 8 and not), interior-heavy
  // sizes so the direct (no indirection) rows dominate, strides 1 and 2.
  const ConvCase cases[] = {
      {"dw3_s1_c64", conv(64, 64, 3, 1, 1, 64), 1, 14, 13, P::kDepthwise},
      {"dw3_s2_c72", conv(72, 72, 3, 2, 1, 72), 2, 15, 16, P::kDepthwise},
      {"dw5_s2_c72_tf_pads", pads(conv(72, 72, 5, 2, 0, 72), 1, 1, 2, 2), 1, 17, 17, P::kDepthwise},
      {"dw5_s1_c120", conv(120, 120, 5, 1, 2, 120), 1, 9, 10, P::kDepthwise},
      {"dw3_s1_c36", conv(36, 36, 3, 1, 1, 36), 2, 11, 9, P::kDepthwise},
      {"dw7_s1_c40", conv(40, 40, 7, 1, 3, 40), 1, 10, 11, P::kDepthwise},
  };
  for (const ConvCase& tc : cases) {
    const Conv2dParams& p = tc.p;
    const int taps = p.kernel_h * p.kernel_w;
    const auto wt = random_floats(static_cast<size_t>(p.out_channels) * taps, 21 + taps);
    const auto bias = random_floats(p.out_channels, 22);
    const auto in = random_floats(static_cast<size_t>(tc.n) * tc.h * tc.w * p.in_channels, 23, -3.f, 3.f);
    const size_t out_size = static_cast<size_t>(tc.n) * p.out_h(tc.h) * p.out_w(tc.w) * p.out_channels;
    const auto residual = random_floats(out_size, 24);
    for (const Epilogue& ep : {Epilogue::relu(), Epilogue::hardswish(), Epilogue::relu6(), Epilogue::silu()}) {
      PackedConv2d packed(p, wt, bias, ep);
      ASSERT_EQ(packed.path(), P::kDepthwise) << tc.name;
      std::vector<float> scratch(packed.scratch_floats(tc.h, tc.w));
      for (bool with_res : {false, true}) {
        std::vector<float> want(out_size), got(out_size, NAN);
        ref::conv2d(p, wt.data(), bias.data(), ep, in.data(), tc.n, tc.h, tc.w, want.data(),
                    with_res ? residual.data() : nullptr);
        packed.run(in.data(), tc.n, tc.h, tc.w, got.data(), scratch.data(), with_res ? residual.data() : nullptr);
        EXPECT_LE(max_rel_err(want, got), 1e-5f * std::sqrt(static_cast<float>(taps)) * 4.f)
            << tc.name << " " << describe(ep) << (with_res ? " +residual" : "");
      }
    }
  }
}

TEST(ConvKernel, LargerShapesAcrossTileTails) {
  // Long K (several splat blocks plus a tail) and many output panels.
  const Conv2dParams p = conv(67, 45, 3, 1, 1);
  const auto wt = random_floats(45 * 67 * 9, 1), bias = random_floats(45, 2), in = random_floats(2 * 9 * 10 * 67, 3);
  std::vector<float> want(2 * 9 * 10 * 45), got(want.size(), NAN);
  ref::conv2d(p, wt.data(), bias.data(), Epilogue::hardswish(), in.data(), 2, 9, 10, want.data());
  PackedConv2d packed(p, wt, bias, Epilogue::hardswish());
  EXPECT_EQ(packed.path(), P::kIndirect);
  std::vector<float> scratch(packed.scratch_floats(9, 10));
  packed.run(in.data(), 2, 9, 10, got.data(), scratch.data());
  EXPECT_LE(max_rel_err(want, got), 1e-5f * std::sqrt(67.f * 9.f) * 4.f);
}

// Winograd F(4x4, 3x3) and F(2x2, 3x3) against the direct definition, at the
// tolerance of the model tests (1e-4 * max(1, max |ref|)): tiles cut by the
// output's edge, asymmetric and no padding, batch 2, channels off the vector
// width, a 1x1 input, epilogues, a residual (also aliasing the output).
TEST(WinogradKernel, MatchesReference) {
  struct Case {
    const char* name;
    Conv2dParams p;
    int n, h, w;
  };
  const Case cases[] = {
      {"c16_13_pad1", conv(16, 13, 3, 1, 1), 2, 5, 6},
      {"c19_17_valid", conv(19, 17, 3, 1, 0), 1, 9, 10},
      {"c24_20_asym", pads(conv(24, 20, 3, 1, 0), 1, 0, 2, 1), 2, 7, 9},
      {"c64_64_resnet", conv(64, 64, 3, 1, 1), 1, 14, 14},
      {"c33_40_1x1_input", conv(33, 40, 3, 1, 1), 1, 1, 1},
      {"c3_5_few_channels", conv(3, 5, 3, 1, 1), 2, 6, 7},
  };
  for (const Case& tc : cases) {
    const Conv2dParams& p = tc.p;
    const auto wt = random_floats(static_cast<size_t>(p.out_channels) * p.in_channels * 9, 31 + p.in_channels);
    const auto bias = random_floats(p.out_channels, 32);
    const auto in = random_floats(static_cast<size_t>(tc.n) * tc.h * tc.w * p.in_channels, 33, -2.f, 2.f);
    const size_t out_size = static_cast<size_t>(tc.n) * p.out_h(tc.h) * p.out_w(tc.w) * p.out_channels;
    const auto residual = random_floats(out_size, 34);
    // The bound's scale is the output before the activation: a clip or a
    // sigmoid hides how large the sums were.
    float scale = 1.f;
    {
      std::vector<float> raw(out_size);
      ref::conv2d(p, wt.data(), bias.data(), Epilogue::none(), in.data(), tc.n, tc.h, tc.w, raw.data(), residual.data());
      for (float v : raw) scale = std::max(scale, std::fabs(v));
    }
    // The activation is one pass after the transform: one of each kind of it.
    for (const Epilogue& ep : {Epilogue::none(), Epilogue::clip(-0.5f, 0.25f), Epilogue::silu()}) {
      for (int res = 0; res < 3; ++res) {  // none, separate, aliasing the output
        std::vector<float> want(out_size);
        ref::conv2d(p, wt.data(), bias.data(), ep, in.data(), tc.n, tc.h, tc.w, want.data(),
                    res ? residual.data() : nullptr);
        for (int tile : {2, 4}) {
          PackedConv2d packed(p, wt, bias, ep, {tc.h, tc.w, tile});
          ASSERT_EQ(packed.path(), P::kWinograd) << tc.name;
          ASSERT_EQ(packed.winograd_tile(), tile);
          std::vector<float> scratch(packed.scratch_floats(tc.h, tc.w, tc.n));
          std::vector<float> got(out_size, NAN);
          if (res == 2) got = residual;
          packed.run(in.data(), tc.n, tc.h, tc.w, got.data(), scratch.data(),
                     res == 0 ? nullptr : res == 1 ? residual.data() : got.data());
          float worst = 0.f;
          for (size_t i = 0; i < want.size(); ++i)
            worst = std::isnan(got[i]) ? INFINITY : std::max(worst, std::fabs(got[i] - want[i]));
          EXPECT_LE(worst, 1e-4f * scale) << tc.name << " F(" << tile << "x" << tile << ") " << describe(ep)
                                          << " residual " << res;
        }
      }
    }
  }
}

TEST(WinogradKernel, ChosenByShape) {
  const auto w = random_floats(64 * 64 * 9, 1);
  auto tile = [&](Conv2dParams p, int h, int wd) {
    return PackedConv2d(p, std::span<const float>(w).first(static_cast<size_t>(p.out_channels) * p.in_channels * 9),
                        {}, Epilogue::none(), {h, wd})
        .winograd_tile();
  };
  EXPECT_EQ(tile(conv(64, 64, 3, 1, 1), 56, 56), 4);
  EXPECT_EQ(tile(conv(64, 64, 3, 1, 1), 3, 3), 2);    // outputs under 4x4
  EXPECT_EQ(tile(conv(64, 64, 3, 2, 1), 56, 56), 0);  // stride 2
  EXPECT_EQ(tile(conv(8, 64, 3, 1, 1), 56, 56), 0);   // few input channels
  EXPECT_EQ(tile(conv(64, 64, 3, 1, 1), 0, 0), 0);    // size unknown
}

TEST(ConvKernel, RejectsBadParameters) {
  const auto w = random_floats(8 * 4 * 9, 1);
  EXPECT_THROW(PackedConv2d(conv(4, 8, 3), std::span<const float>(w).first(10), {}, Epilogue::none()), Error);
  EXPECT_THROW(PackedConv2d(conv(4, 8, 3), w, random_floats(7, 2), Epilogue::none()), Error);
  EXPECT_THROW(PackedConv2d(conv(4, 8, 3, 1, 0, 3), w, {}, Epilogue::none()), Error);
  EXPECT_THROW(PackedConv2d(conv(4, 8, 3, 0), w, {}, Epilogue::none()), Error);
  EXPECT_THROW(PackedConv2d(conv(0, 8, 3), w, {}, Epilogue::none()), Error);
  PackedConv2d ok(conv(4, 8, 3), w, {}, Epilogue::none());
  std::vector<float> in(2 * 2 * 4), out(64), scratch(ok.scratch_floats(2, 2) + 1);
  // 2x2 input, 3x3 kernel, no padding: empty output.
  EXPECT_THROW(ok.run(in.data(), 1, 2, 2, out.data(), scratch.data()), Error);
}

TEST(ConvGemmKernel, DenseMatchesReferenceWithStridesAndTiles) {
  const int m = 11, k = 37, n = 21;
  const size_t lda = 40, ldc = 25;
  const auto a = random_floats(m * lda, 1), w = random_floats(n * k, 2), b = random_floats(n, 3),
             res = random_floats(m * ldc, 4);
  for (int tile = 1; tile <= kGemmMaxRows; ++tile) {
    PackedGemm g(k, n, w, b, Epilogue::clip(-1.f, 1.5f));
    std::vector<float> c(m * ldc, -7.f);
    g.run(a.data(), m, lda, c.data(), ldc, res.data(), ldc, tile);
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) {
        float acc = b[j] + res[i * ldc + j];
        for (int q = 0; q < k; ++q) acc += a[i * lda + q] * w[j * k + q];
        ASSERT_NEAR(c[i * ldc + j], std::min(std::max(acc, -1.f), 1.5f), 1e-5f * std::sqrt(float(k)) * 4.f)
            << i << "," << j << " tile " << tile;
      }
      for (size_t j = n; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], -7.f) << "wrote past n";
    }
  }
}

// ------------------------------------------------------------------- pooling

struct PoolCase {
  const char* name;
  Pool2dParams p;
  int n, h, w, c;
};

Pool2dParams pool(int k, int s, int pad, bool ceil_mode = false, bool include_pad = false) {
  Pool2dParams p;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = s;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.ceil_mode = ceil_mode;
  p.count_include_pad = include_pad;
  return p;
}
Pool2dParams ppads(Pool2dParams p, int t, int l, int b, int r) {
  p.pad_top = t, p.pad_left = l, p.pad_bottom = b, p.pad_right = r;
  return p;
}

const PoolCase kPoolCases[] = {
    {"k3s2p1_c16", pool(3, 2, 1), 2, 9, 7, 16},
    {"k3s2p1_c5_ceil", pool(3, 2, 1, true), 2, 8, 10, 5},
    {"k3s2_c13_ceil_incl", pool(3, 2, 0, true, true), 1, 8, 7, 13},
    {"k2s2_c3_ceil", pool(2, 2, 0, true), 2, 5, 7, 3},
    {"k3s1p1_c17_incl", pool(3, 1, 1, false, true), 1, 5, 6, 17},
    {"k3s1p1_c33", pool(3, 1, 1), 2, 4, 3, 33},
    {"k5s3_asym_c7", ppads(pool(5, 3, 0), 2, 0, 1, 2), 1, 9, 8, 7},
    {"k5s3_asym_c7_incl_ceil", ppads(pool(5, 3, 0, true, true), 2, 0, 1, 2), 1, 9, 8, 7},
    {"k7_global_like_c1", pool(7, 7, 0), 2, 7, 7, 1},
    {"k3_1x1_input_c20", pool(3, 2, 1, true), 1, 1, 1, 20},
};

void PrintTo(const PoolCase& c, std::ostream* os) { *os << c.name; }

class PoolKernel : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolKernel, MaxAndAverageMatchReference) {
  const PoolCase& tc = GetParam();
  const auto in = random_floats(static_cast<size_t>(tc.n) * tc.h * tc.w * tc.c, 3 + tc.c, -5.f, 5.f);
  const int oh = tc.p.out_h(tc.h), ow = tc.p.out_w(tc.w);
  ASSERT_GT(oh, 0);
  ASSERT_GT(ow, 0);
  const size_t size = static_cast<size_t>(tc.n) * oh * ow * tc.c;
  std::vector<float> want(size), got(size, NAN);
  ref::avg_pool2d(tc.p, in.data(), tc.n, tc.h, tc.w, tc.c, want.data());
  avg_pool2d(tc.p, in.data(), tc.n, tc.h, tc.w, tc.c, got.data());
  EXPECT_LE(max_rel_err(want, got), 1e-6f) << tc.name << " average";
  Pool2dParams dil = tc.p;
  for (int d : {1, 2}) {
    dil.dilation_h = dil.dilation_w = d;
    const int dh = dil.out_h(tc.h), dw = dil.out_w(tc.w);
    if (dh <= 0 || dw <= 0) continue;
    std::vector<float> wmax(static_cast<size_t>(tc.n) * dh * dw * tc.c), gmax(wmax.size(), NAN);
    ref::max_pool2d(dil, in.data(), tc.n, tc.h, tc.w, tc.c, wmax.data());
    max_pool2d(dil, in.data(), tc.n, tc.h, tc.w, tc.c, gmax.data());
    EXPECT_EQ(wmax, gmax) << tc.name << " max, dilation " << d;
  }
}

INSTANTIATE_TEST_SUITE_P(PoolOddShapes, PoolKernel, ::testing::ValuesIn(kPoolCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PoolKernel, OutputSizesFollowFloorAndCeilModes) {
  EXPECT_EQ(pool(3, 2, 0).out_h(6), 2);
  EXPECT_EQ(pool(3, 2, 0, true).out_h(6), 3);
  EXPECT_EQ(pool(3, 2, 1).out_h(112), 56);
  EXPECT_EQ(pool(3, 2, 1, true).out_h(112), 57);
  // The last window may not start in the end padding: 5 + 1 + 1 with k 2 s 2.
  EXPECT_EQ(pool(2, 2, 1, true).out_h(5), 3);
  EXPECT_EQ(pool(2, 2, 1, false).out_h(5), 3);
  EXPECT_EQ(pool(7, 1, 0).out_h(7), 1);
  EXPECT_EQ(pool(3, 1, 0).out_h(2), 0);
}

TEST(PoolKernel, CountIncludePadChangesTheBorderAverage) {
  const std::vector<float> in(3 * 3, 1.f);
  std::vector<float> excl(9), incl(9);
  avg_pool2d(pool(3, 1, 1, false, false), in.data(), 1, 3, 3, 1, excl.data());
  avg_pool2d(pool(3, 1, 1, false, true), in.data(), 1, 3, 3, 1, incl.data());
  EXPECT_FLOAT_EQ(excl[0], 1.f);
  EXPECT_FLOAT_EQ(incl[0], 4.f / 9.f);
  EXPECT_FLOAT_EQ(incl[4], 1.f);
}

TEST(PoolKernel, RejectsEmptyOutputs) {
  std::vector<float> in(4), out(16);
  EXPECT_THROW(max_pool2d(pool(3, 1, 0), in.data(), 1, 2, 2, 1, out.data()), Error);
  EXPECT_THROW(avg_pool2d(pool(0, 1, 0), in.data(), 1, 2, 2, 1, out.data()), Error);
  EXPECT_THROW(global_avg_pool(in.data(), 1, 0, 2, 1, out.data()), Error);
}

class GlobalPoolKernel : public ::testing::TestWithParam<int> {};

TEST_P(GlobalPoolKernel, MatchesReference) {
  const int c = GetParam();
  for (auto [h, w] : {std::pair{7, 7}, std::pair{1, 1}, std::pair{3, 5}}) {
    const auto in = random_floats(static_cast<size_t>(2) * h * w * c, 9 + c);
    std::vector<float> want(2 * c), got(2 * c, NAN);
    ref::global_avg_pool(in.data(), 2, h, w, c, want.data());
    global_avg_pool(in.data(), 2, h, w, c, got.data());
    EXPECT_LE(max_rel_err(want, got), 2e-6f) << h << "x" << w;
  }
}

INSTANTIATE_TEST_SUITE_P(PoolGlobalOddChannels, GlobalPoolKernel, ::testing::Values(1, 3, 5, 17, 32, 33, 960));

}  // namespace
}  // namespace iciia::kernels
