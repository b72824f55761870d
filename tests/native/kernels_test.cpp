// Every SIMD kernel against its scalar reference, over odd shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <tuple>

#include "kernels/linear.h"
#include "kernels/ops.h"
#include "kernels/vec.h"
#include "test_support.h"
#include "util/error.h"

namespace iciia::kernels {
namespace {

using test::random_floats;

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0.f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// The vector layer these sweeps exercise: SIMD128 in the wasm build, SSE2 on
// x86-64 (never the scalar fallback on either).
TEST(VectorLayer, IsTheTargetsSimd) {
  std::printf("[ kernels ] vector layer: %s\n", ICIIA_VEC_ISA);
#if defined(__wasm__)
  EXPECT_STREQ(ICIIA_VEC_ISA, "wasmsimd");
#elif defined(__x86_64__)
  EXPECT_STREQ(ICIIA_VEC_ISA, "sse2");
#endif
}

// groups, in_per_group, out_per_group, shuffle, rows
using LinearCase = std::tuple<int, int, int, bool, int>;

class LinearKernel : public ::testing::TestWithParam<LinearCase> {};

TEST_P(LinearKernel, MatchesReference) {
  auto [g, mi, mo, shuffle, rows] = GetParam();
  const LinearShape shape{g, mi, mo, shuffle};
  const auto w = random_floats(static_cast<size_t>(g) * mo * mi, 1 + g * 31 + mi);
  const auto b = random_floats(static_cast<size_t>(g) * mo, 2 + mo);
  const auto x = random_floats(static_cast<size_t>(rows) * g * mi, 3 + rows);
  for (const Epilogue& ep : {Epilogue::none(), Epilogue::relu()}) {
    std::vector<float> want(static_cast<size_t>(rows) * g * mo), got(want.size(), NAN);
    ref::linear(shape, w.data(), b.data(), x.data(), rows, want.data(), ep);
    PackedLinear packed(shape, w, b, ep);
    std::vector<float> scratch(packed.scratch_floats());
    packed.run(x.data(), rows, got.data(), scratch.data());
    // Sums of mi products in a different order: relative error ~ mi * eps.
    EXPECT_LE(max_abs_diff(want, got), 1e-5f * std::max(1, mi)) << "layout " << static_cast<int>(packed.layout());
    if (ep.kind == ActKind::kRelu) {
      for (float v : got) ASSERT_GE(v, 0.f);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    OddShapes, LinearKernel,
    ::testing::Values(
        // dense (g = 1): gemm layout, partial panels, 1..5 rows (GEMV and tails), 17 (several scatter blocks)
        LinearCase{1, 1, 1, false, 1}, LinearCase{1, 7, 3, false, 1}, LinearCase{1, 13, 8, false, 2},
        LinearCase{1, 17, 9, false, 3}, LinearCase{1, 33, 24, false, 4}, LinearCase{1, 64, 192, false, 5},
        LinearCase{1, 5, 17, false, 9},
        // few partitions: gemm layout, scattered outputs
        LinearCase{2, 6, 18, true, 3}, LinearCase{3, 5, 15, false, 2}, LinearCase{4, 3, 9, true, 1},
        LinearCase{7, 9, 9, true, 6}, LinearCase{3, 4, 11, true, 37},
        // many partitions: interleave layout, g not a multiple of 4, m = 1
        LinearCase{8, 8, 24, true, 1}, LinearCase{9, 2, 6, false, 2}, LinearCase{17, 3, 3, true, 5},
        LinearCase{20, 1, 3, true, 1}, LinearCase{33, 5, 15, false, 3}, LinearCase{256, 5, 15, true, 2},
        // interleave, several 8-row tiles and a partial one; m_in past the fixed-size variants
        LinearCase{256, 5, 15, true, 21}, LinearCase{10, 9, 3, true, 11}, LinearCase{12, 4, 4, false, 16}));

// A multi-row pass gives each row exactly the floats a one-row call gives:
// IciiaSession::append_rows rebuilds a history with multi-row passes that
// must equal appending row by row. Interleaved shapes (tiles of 8 rows, a
// partial last tile, g not a multiple of 4, m_in past the compile-time
// variants, shuffled and not). (The dense GEMM layout sums in a different
// order for one row than for a panel of rows: within float rounding only,
// which MatchesReference and the session tests bound.)
TEST(LinearKernel, MultiRowEqualsRowByRowBitForBit) {
  const LinearCase cases[] = {{256, 5, 15, true, 19}, {256, 5, 5, false, 9}, {10, 3, 9, true, 17},
                              {9, 11, 4, true, 8},    {13, 2, 2, false, 3}};
  for (const auto& [g, mi, mo, shuffle, rows] : cases) {
    SCOPED_TRACE("g " + std::to_string(g) + ", m_in " + std::to_string(mi) + ", m_out " + std::to_string(mo) +
                 ", rows " + std::to_string(rows));
    const LinearShape shape{g, mi, mo, shuffle};
    const auto w = random_floats(static_cast<size_t>(g) * mo * mi, 5 + g);
    const auto b = random_floats(static_cast<size_t>(g) * mo, 6 + mo);
    const auto x = random_floats(static_cast<size_t>(rows) * g * mi, 7 + rows);
    for (const Epilogue& ep : {Epilogue::none(), Epilogue::relu()}) {
      PackedLinear packed(shape, w, b, ep);
      ASSERT_EQ(packed.layout(), PackedLinear::Layout::kInterleave);
      std::vector<float> scratch(packed.scratch_floats());
      const size_t out = shape.out_features();
      std::vector<float> all(rows * out, NAN), one(rows * out, NAN);
      packed.run(x.data(), rows, all.data(), scratch.data());
      for (int r = 0; r < rows; ++r)
        packed.run(x.data() + r * shape.in_features(), 1, one.data() + r * out, scratch.data());
      // Bit patterns (memcpy: emscripten 3.1.6's libc++ has no std::bit_cast).
      std::vector<uint32_t> all_bits(all.size()), one_bits(one.size());
      std::memcpy(all_bits.data(), all.data(), all.size() * sizeof(float));
      std::memcpy(one_bits.data(), one.data(), one.size() * sizeof(float));
      for (size_t j = 0; j < all.size(); ++j)
        ASSERT_EQ(all_bits[j], one_bits[j])
            << "output " << j % out << " of row " << j / out << ": " << all[j] << " vs " << one[j];
    }
  }
}

TEST(LinearKernel, PicksLayoutByShape) {
  const auto w = random_floats(8 * 3 * 3, 1), b = random_floats(8 * 3, 2);
  EXPECT_EQ(PackedLinear({1, 3, 24}, w, b).layout(), PackedLinear::Layout::kGemm);
  EXPECT_EQ(PackedLinear({8, 3, 3, true}, w, b).layout(), PackedLinear::Layout::kInterleave);
}

TEST(LinearKernel, RejectsMismatchedWeights) {
  const auto w = random_floats(10, 1), b = random_floats(2, 2);
  EXPECT_THROW(PackedLinear({1, 4, 2}, w, b), Error);
  EXPECT_THROW(PackedLinear({0, 4, 2}, w, b), Error);
}

// Preprocessing widens pixels with it; the wasm build does not use the
// integer convert (see vec.h), so every byte value in every lane is checked
// against the exact conversion, bit for bit.
TEST(VectorLayer, BytesWidenToExactFloats) {
  for (int shift = 0; shift < 16; ++shift) {
    alignas(16) uint8_t bytes[256 + 16];
    for (int i = 0; i < 256 + 16; ++i) bytes[i] = uint8_t(i + shift);
    for (int chunk = 0; chunk < 17; ++chunk) {
      const uint8_t* p = bytes + 16 * chunk;
      float out[16];
      vec::bytes16_to_floats(p, out);
      for (int i = 0; i < 16; ++i) {
        const float want = static_cast<float>(p[i]);
        ASSERT_EQ(std::memcmp(&out[i], &want, sizeof(float)), 0)
            << "byte " << int(p[i]) << " in lane " << i << " became " << out[i];
      }
    }
  }
}

class VectorOps : public ::testing::TestWithParam<int> {};

TEST_P(VectorOps, MatchReference) {
  const int n = GetParam();
  const auto a = random_floats(n, 10 + n, -3.f, 3.f), b = random_floats(n, 20 + n, -3.f, 3.f);
  EXPECT_NEAR(dot(a.data(), b.data(), n), ref::dot(a.data(), b.data(), n), 1e-5f * n);

  auto y1 = b, y2 = b;
  axpy(0.37f, a.data(), y1.data(), n);
  ref::axpy(0.37f, a.data(), y2.data(), n);
  EXPECT_LE(max_abs_diff(y1, y2), 1e-6f);

  auto r1 = a, r2 = a;
  relu(r1.data(), n);
  ref::relu(r2.data(), n);
  EXPECT_EQ(r1, r2);

  auto s1 = a, s2 = a;
  softmax(s1.data(), n);
  ref::softmax(s2.data(), n);
  EXPECT_LE(max_abs_diff(s1, s2), 1e-6f);
  float sum = 0.f;
  for (float v : s1) sum += v;
  EXPECT_NEAR(sum, 1.f, 1e-5f);

  const auto gamma = random_floats(n, 30 + n, 0.5f, 1.5f), beta = random_floats(n, 40 + n);
  std::vector<float> l1(n), l2(n);
  add_layernorm(a.data(), b.data(), gamma.data(), beta.data(), l1.data(), n, 1e-5f);
  ref::add_layernorm(a.data(), b.data(), gamma.data(), beta.data(), l2.data(), n, 1e-5f);
  EXPECT_LE(max_abs_diff(l1, l2), 2e-5f);
  // In place (out aliases a), as the encoder uses it.
  auto alias = a;
  add_layernorm(alias.data(), b.data(), gamma.data(), beta.data(), alias.data(), n, 1e-5f);
  EXPECT_LE(max_abs_diff(alias, l2), 2e-5f);
}

INSTANTIATE_TEST_SUITE_P(OddSizes, VectorOps, ::testing::Values(1, 2, 3, 4, 5, 7, 15, 16, 17, 33, 63, 320, 1281));

TEST(VectorOps, SoftmaxIsStableForLargeInputs) {
  std::vector<float> x = {1000.f, 1001.f, 999.f};
  softmax(x.data(), 3);
  for (float v : x) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(x[1], 1.f / (1.f + std::exp(-1.f) + std::exp(-2.f)), 1e-6f);
}

// history rows n, head width dh, row stride
using AttentionCase = std::tuple<int, int, int>;
class AttentionHead : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(AttentionHead, MatchesReference) {
  auto [n, dh, stride] = GetParam();
  const auto q = random_floats(dh, 1), k = random_floats(static_cast<size_t>(n) * stride, 2),
             v = random_floats(static_cast<size_t>(n) * stride, 3);
  std::vector<float> p1(n), p2(n), o1(dh), o2(dh);
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  attention_head(q.data(), k.data(), v.data(), n, stride, dh, scale, p1.data(), o1.data());
  ref::attention_head(q.data(), k.data(), v.data(), n, stride, dh, scale, p2.data(), o2.data());
  EXPECT_LE(max_abs_diff(p1, p2), 1e-6f);
  EXPECT_LE(max_abs_diff(o1, o2), 1e-5f);
}

INSTANTIATE_TEST_SUITE_P(OddSizes, AttentionHead,
                         ::testing::Values(AttentionCase{1, 1, 1}, AttentionCase{1, 7, 9}, AttentionCase{3, 5, 15},
                                           AttentionCase{17, 16, 48}, AttentionCase{65, 33, 99},
                                           AttentionCase{257, 320, 1280}));

}  // namespace
}  // namespace iciia::kernels
