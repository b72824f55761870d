// Google Benchmark (native only): each kernel beside its scalar reference.
#include <benchmark/benchmark.h>

#include <random>

#include "kernels/linear.h"
#include "kernels/ops.h"

namespace {

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Args: groups, in_per_group, out_per_group, rows
template <bool kReference>
void BM_linear(benchmark::State& state) {
  const int g = state.range(0), mi = state.range(1), mo = state.range(2), rows = state.range(3);
  const iciia::kernels::LinearShape shape{g, mi, mo, true};
  const auto w = random_vector(size_t(g) * mo * mi, 1), b = random_vector(size_t(g) * mo, 2),
             x = random_vector(size_t(rows) * g * mi, 3);
  std::vector<float> y(size_t(rows) * g * mo);
  iciia::kernels::PackedLinear packed(shape, w, b);
  std::vector<float> scratch(packed.scratch_floats());
  for (auto _ : state) {
    if (kReference)
      iciia::kernels::ref::linear(shape, w.data(), b.data(), x.data(), rows, y.data(), iciia::kernels::Epilogue::none());
    else
      packed.run(x.data(), rows, y.data(), scratch.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * rows * g * mi * mo, benchmark::Counter::kIsIterationInvariantRate);
}
#define LINEAR_ARGS                                                                                      \
  Args({1, 1280, 3840, 1})->Args({1, 1280, 3840, 16})->Args({1, 1280, 1000, 1})->Args({256, 5, 15, 1}) \
      ->Args({256, 5, 15, 64})
BENCHMARK(BM_linear<false>)->Name("linear/simd")->LINEAR_ARGS;
BENCHMARK(BM_linear<true>)->Name("linear/scalar")->LINEAR_ARGS;

template <bool kReference>
void BM_attention_head(benchmark::State& state) {
  const int n = state.range(0), dh = 320, stride = 1280;
  const auto q = random_vector(dh, 1), k = random_vector(size_t(n) * stride, 2), v = random_vector(size_t(n) * stride, 3);
  std::vector<float> probs(n), out(dh);
  for (auto _ : state) {
    if (kReference)
      iciia::kernels::ref::attention_head(q.data(), k.data(), v.data(), n, stride, dh, 0.05f, probs.data(), out.data());
    else
      iciia::kernels::attention_head(q.data(), k.data(), v.data(), n, stride, dh, 0.05f, probs.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_attention_head<false>)->Name("attention_head/simd")->Arg(64)->Arg(1024);
BENCHMARK(BM_attention_head<true>)->Name("attention_head/scalar")->Arg(64)->Arg(1024);

}  // namespace
