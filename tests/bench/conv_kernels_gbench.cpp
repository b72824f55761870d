// Google Benchmark (native only): the CNN kernels on MobileNetV3-Large layer
// shapes, each beside the scalar reference; the "FLOP/s" counter counts
// 2 * multiply-adds of the convolution. GEMM paths run with 4x8 and 6x8 tiles.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/pool.h"

namespace {

using iciia::kernels::Conv2dParams;
using iciia::kernels::Epilogue;
using iciia::kernels::PackedConv2d;

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct Shape {
  const char* name;
  int in_c, out_c, k, stride, pad, groups, h, w;
  Epilogue ep;
};

// MobileNetV3-Large layers (224x224 input), and ResNet-18's not run by Winograd.
const Shape kShapes[] = {
    {"pw_16_64_112", 16, 64, 1, 1, 0, 1, 112, 112, Epilogue::relu()},
    {"pw_960_160_7", 960, 160, 1, 1, 0, 1, 7, 7, Epilogue::none()},
    {"pw_160_960_7", 160, 960, 1, 1, 0, 1, 7, 7, Epilogue::hardswish()},
    {"pw_72_24_56_res", 72, 24, 1, 1, 0, 1, 56, 56, Epilogue::none()},
    {"dw3_s1_64_112", 64, 64, 3, 1, 1, 64, 112, 112, Epilogue::relu()},
    {"dw3_s2_64_112", 64, 64, 3, 2, 1, 64, 112, 112, Epilogue::relu()},
    {"dw5_s2_72_56", 72, 72, 5, 2, 2, 72, 56, 56, Epilogue::relu()},
    {"dw5_s1_672_7", 672, 672, 5, 1, 2, 672, 7, 7, Epilogue::hardswish()},
    {"stem_3_16_s2_224", 3, 16, 3, 2, 1, 1, 224, 224, Epilogue::hardswish()},
    {"c3_32_32_56", 32, 32, 3, 1, 1, 1, 56, 56, Epilogue::relu()},
    // ResNet-18's stem and its stride-2 3x3 convolutions (the indirect path).
    {"stem7_3_64_s2_224", 3, 64, 7, 2, 3, 1, 224, 224, Epilogue::relu()},
    {"r18_s2_64_128_56", 64, 128, 3, 2, 1, 1, 56, 56, Epilogue::relu()},
    {"r18_s2_128_256_28", 128, 256, 3, 2, 1, 1, 28, 28, Epilogue::relu()},
    {"r18_s2_256_512_14", 256, 512, 3, 2, 1, 1, 14, 14, Epilogue::relu()},
};

Conv2dParams params_of(const Shape& s) {
  Conv2dParams p;
  p.in_channels = s.in_c;
  p.out_channels = s.out_c;
  p.kernel_h = p.kernel_w = s.k;
  p.stride_h = p.stride_w = s.stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.pad;
  p.groups = s.groups;
  return p;
}

double conv_flops(const Shape& s) {
  const Conv2dParams p = params_of(s);
  return 2.0 * p.out_h(s.h) * p.out_w(s.w) * s.out_c * (s.in_c / s.groups) * s.k * s.k;
}

// Args: shape index, tile rows (0: the reference)
void BM_conv(benchmark::State& state) {
  const Shape& s = kShapes[state.range(0)];
  const int tile = static_cast<int>(state.range(1));
  const Conv2dParams p = params_of(s);
  const auto w = random_vector(size_t(s.out_c) * (s.in_c / s.groups) * s.k * s.k, 1);
  const auto b = random_vector(s.out_c, 2);
  const auto in = random_vector(size_t(s.h) * s.w * s.in_c, 3);
  const bool res = std::string(s.name).ends_with("_res");
  const size_t out_size = size_t(p.out_h(s.h)) * p.out_w(s.w) * s.out_c;
  const auto residual = random_vector(res ? out_size : 0, 4);
  std::vector<float> out(out_size);
  PackedConv2d conv(p, w, b, s.ep);
  conv.set_tile_rows(tile);
  std::vector<float> scratch(conv.scratch_floats(s.h, s.w) + 1);
  for (auto _ : state) {
    if (tile == 0)
      iciia::kernels::ref::conv2d(p, w.data(), b.data(), s.ep, in.data(), 1, s.h, s.w, out.data(),
                                  res ? residual.data() : nullptr);
    else
      conv.run(in.data(), 1, s.h, s.w, out.data(), scratch.data(), res ? residual.data() : nullptr);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(s.name) + " " + (tile ? PackedConv2d::path_name(conv.path()) : "reference"));
  state.counters["FLOP/s"] = benchmark::Counter(conv_flops(s), benchmark::Counter::kIsIterationInvariantRate);
}

void conv_args(benchmark::internal::Benchmark* b) {
  for (int i = 0; i < static_cast<int>(std::size(kShapes)); ++i) {
    const bool gemm = kShapes[i].groups == 1;
    b->Args({i, 4});
    if (gemm) b->Args({i, 6});
    b->Args({i, 0});
  }
}
BENCHMARK(BM_conv)->Name("conv2d")->Apply(conv_args)->Unit(benchmark::kMicrosecond);

// Args: reference?
void BM_maxpool(benchmark::State& state) {
  iciia::kernels::Pool2dParams p;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = p.stride_w = 2;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  const int h = 112, w = 112, c = 64;
  const auto in = random_vector(size_t(h) * w * c, 1);
  std::vector<float> out(size_t(p.out_h(h)) * p.out_w(w) * c);
  for (auto _ : state) {
    if (state.range(0))
      iciia::kernels::ref::max_pool2d(p, in.data(), 1, h, w, c, out.data());
    else
      iciia::kernels::max_pool2d(p, in.data(), 1, h, w, c, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(state.range(0) ? "maxpool3s2 112x112x64 reference" : "maxpool3s2 112x112x64");
}
BENCHMARK(BM_maxpool)->Name("maxpool")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_global_avg_pool(benchmark::State& state) {
  const int h = 7, w = 7, c = 960;
  const auto in = random_vector(size_t(h) * w * c, 1);
  std::vector<float> out(c);
  for (auto _ : state) {
    if (state.range(0))
      iciia::kernels::ref::global_avg_pool(in.data(), 1, h, w, c, out.data());
    else
      iciia::kernels::global_avg_pool(in.data(), 1, h, w, c, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(state.range(0) ? "7x7x960 reference" : "7x7x960");
}
BENCHMARK(BM_global_avg_pool)->Name("global_avg_pool")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

// ResNet-18's dense 3x3 stride-1 layers: the direct GEMM (indirect path)
// against Winograd F(2x2, 3x3) and F(4x4, 3x3); what choose_winograd_tile
// in conv2d.cpp is tuned on. Args: size (56, 28, 14, 7), Winograd tile (0: direct).
void BM_resnet_conv3x3(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0)), tile = static_cast<int>(state.range(1));
  const int c = 64 * 56 / size;
  const Shape s{"resnet", c, c, 3, 1, 1, 1, size, size, Epilogue::relu()};
  const Conv2dParams p = params_of(s);
  const auto w = random_vector(size_t(c) * c * 9, 1), b = random_vector(c, 2), in = random_vector(size_t(size) * size * c, 3);
  std::vector<float> out(size_t(size) * size * c);
  PackedConv2d conv(p, w, b, s.ep, {size, size, tile});
  std::vector<float> scratch(conv.scratch_floats(size, size) + 1);
  for (auto _ : state) {
    conv.run(in.data(), 1, size, size, out.data(), scratch.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::to_string(size) + "x" + std::to_string(size) + "x" + std::to_string(c) + " " +
                 (tile ? "winograd F(" + std::to_string(tile) + "x" + std::to_string(tile) + ")" : "direct"));
  state.counters["FLOP/s"] = benchmark::Counter(conv_flops(s), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_resnet_conv3x3)
    ->ArgsProduct({{56, 28, 14, 7}, {0, 2, 4}})
    ->Unit(benchmark::kMicrosecond);
