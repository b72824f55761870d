// preprocess() (the fast path) against ref::preprocess (the scalar
// reference) on random images: gray, RGB and RGBA in, gray and RGB out,
// shrinking, enlarging, odd and identity sizes. Tolerance: none. The fast
// path does the reference's float operations in the reference's order (only
// grouped into vectors), so the outputs must be identical bit for bit.
//
// Also built into the wasm kernel tests (SIMD128), and each build prints a
// digest of its outputs: tests/node/kernels.test.mjs compares the native and
// the wasm digest, which keeps the two builds' preprocessing bit-identical.
#include <gtest/gtest.h>

#include <functional>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "kernels/vec.h"
#include "pipeline/preprocess.h"
#include "pipeline/resize_taps.h"
#include "util/error.h"

namespace iciia {
namespace {

// Raw mt19937 words only: std's distributions differ between libstdc++
// (native) and libc++ (wasm), and the digest must not.
std::vector<uint8_t> random_pixels(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> px(n);
  for (auto& p : px) p = uint8_t(rng() >> 24);
  return px;
}

PreprocessSpec random_spec(int h, int w, int c, uint32_t seed) {
  std::mt19937 rng(seed);
  PreprocessSpec s;
  s.height = h;
  s.width = w;
  s.channels = c;
  for (int i = 0; i < c; ++i) {
    s.mean.push_back(float(rng() % 1000) / 1000.f);        // [0, 1)
    s.std.push_back(0.1f + float(rng() % 1000) / 1000.f);  // [0.1, 1.1)
  }
  return s;
}

struct Case {
  int iw, ih, W, H;
};

// 640x480 -> 224x224 is the camera case the speed goal is about.
constexpr std::array<Case, 10> kCases{{
    {640, 480, 224, 224},  // shrink both axes, by non-integer factors
    {7, 5, 224, 224},      // enlarge
    {33, 17, 13, 29},      // shrink one axis, enlarge the other
    {1, 1, 3, 5},          // a single pixel
    {5, 300, 17, 9},       // tall: enlarge x, shrink y
    {31, 31, 31, 31},      // identity: normalisation only
    {101, 99, 100, 100},   // nearly identity, odd
    {9, 1500, 5, 7},       // > 64 vertical taps per output row
    {224, 3, 224, 11},     // identity in x only
    {3, 224, 10, 224},     // identity in y only
}};

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* b = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

TEST(PreprocessFast, MatchesReferenceBitForBit) {
  uint64_t digest = 0xcbf29ce484222325ull;
  int compared = 0;
  uint32_t seed = 1;
  for (const Case& k : kCases)
    for (int ic : {1, 3, 4})
      for (int c : {1, 3}) {
        ++seed;
        const auto px = random_pixels(size_t(k.iw) * k.ih * ic, seed);
        const auto spec = random_spec(k.H, k.W, c, seed * 7919u);
        const ImageView img{px.data(), k.iw, k.ih, ic};
        const std::vector<float> fast = preprocess(img, spec);
        std::vector<float> ref(fast.size(), -1.f);
        ref::preprocess(img, spec, ref);
        ASSERT_EQ(fast.size(), size_t(c) * k.H * k.W);
        size_t mismatches = 0, first = 0;
        float worst = 0;
        for (size_t i = 0; i < fast.size(); ++i)
          if (std::memcmp(&fast[i], &ref[i], sizeof(float)) != 0) {
            if (mismatches++ == 0) first = i;
            worst = std::max(worst, std::fabs(fast[i] - ref[i]));
          }
        EXPECT_EQ(mismatches, 0u) << k.iw << "x" << k.ih << "x" << ic << " -> " << k.W << "x" << k.H << "x" << c
                                  << ": first at " << first << " (" << fast[first] << " vs " << ref[first]
                                  << "), max |diff| " << worst;
        digest = fnv1a(digest, fast.data(), fast.size() * sizeof(float));
        ++compared;
      }
  EXPECT_EQ(compared, int(kCases.size()) * 6);
  // Compared across builds by tests/node/kernels.test.mjs.
  std::printf("[ preprocess ] digest %016llx over %d cases (%s)\n", static_cast<unsigned long long>(digest), compared,
              ICIIA_VEC_ISA);
}

TEST(PreprocessFast, OutputOfTheWrongSizeIsATypedError) {
  const auto px = random_pixels(4 * 4 * 3, 3);
  const auto spec = random_spec(2, 2, 3, 4);
  std::vector<float> out(11);
  using Fn = std::function<void(const ImageView&, const PreprocessSpec&, std::span<float>)>;
  const Fn fast = [](const ImageView& i, const PreprocessSpec& s, std::span<float> o) { preprocess(i, s, o); };
  for (const Fn& fn : {fast, Fn{&ref::preprocess}}) {
    try {
      fn({px.data(), 4, 4, 3}, spec, out);
      ADD_FAILURE() << "no error for an output of 11 floats";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("expected 12"), std::string::npos) << e.what();
    }
  }
}

TEST(ResizeTapsCache, KeyedByBothSizesAndBounded) {
  const auto a = cached_resize_taps(640, 224);
  EXPECT_EQ(cached_resize_taps(640, 224), a);  // a hit is the same object
  const auto swapped = cached_resize_taps(224, 640);
  EXPECT_NE(swapped, a);
  EXPECT_EQ(swapped->in_size, 224);
  EXPECT_EQ(swapped->out_size, 640);
  const ResizeTaps fresh = make_resize_taps(640, 224);
  EXPECT_EQ(a->first, fresh.first);
  EXPECT_EQ(a->count, fresh.count);
  EXPECT_EQ(a->offset, fresh.offset);
  EXPECT_EQ(a->weights, fresh.weights);
  EXPECT_EQ(a->max_count, fresh.max_count);
  // kResizeTapsCacheEntries other sizes push (640, 224) out: it is rebuilt, equal.
  for (int i = 0; i < kResizeTapsCacheEntries; ++i) cached_resize_taps(100 + i, 10);
  const auto again = cached_resize_taps(640, 224);
  EXPECT_NE(again.get(), a.get());
  EXPECT_EQ(again->weights, fresh.weights);
  // Weights of each output sum to 1: the taps are normalised.
  for (int o = 0; o < fresh.out_size; ++o) {
    double sum = 0;
    for (int k = 0; k < fresh.count[o]; ++k) sum += fresh.weights[fresh.offset[o] + k];
    EXPECT_NEAR(sum, 1.0, 1e-6) << o;
  }
}

}  // namespace
}  // namespace iciia
