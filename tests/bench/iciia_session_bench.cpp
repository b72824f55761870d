// Per-query cost of the cached ICIIA session against full recomputation, and
// of the SIMD projection kernel against the scalar reference. Builds natively
// and for WebAssembly (tests/bench/iciia_session.sh runs both) and prints
// markdown tables of medians and ratios.
//
// Usage: iciia_bench_session [--quick] [--g N] [projection|startup|query ...]
//   --quick: small sizes only; --g N: only g = N (1 or 256); naming sections
//   runs only those tables.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "iciia/session.h"
#include "kernels/linear.h"
#include "kernels/vec.h"

using namespace iciia;

namespace {

// --g: the partition counts measured (both by default).
std::vector<int> g_values = {1, 256};

std::vector<float> random_vector(size_t n, uint32_t seed, float r = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-r, r);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// d = 1280, C = 1000, h = 4, L = 1, full attention: the benchmark's ICIIA module.
IciiaConfig bench_config(int g) {
  IciiaConfig c;
  c.dim = 1280;
  c.num_classes = 1000;
  c.num_heads = 4;
  c.num_layers = 1;
  c.num_partitions = g;
  return c;
}

std::shared_ptr<const IciiaModel> random_model(const IciiaConfig& c) {
  auto tensors = IciiaModel::expected_tensors(c);
  uint32_t seed = 1;
  for (auto& t : tensors) {
    size_t n = 1;
    for (auto d : t.shape) n *= static_cast<size_t>(d);
    t.data = random_vector(n, seed++, t.shape.size() > 1 ? 1.f / std::sqrt(float(t.shape.back())) : 0.1f);
  }
  return IciiaModel::from_tensors(c, tensors);
}

const char* platform() {
#if defined(__EMSCRIPTEN__)
  return "wasm";
#else
  return "native";
#endif
}

void bench_session(bool quick) {
  std::printf("\n### ICIIA query, cached session vs full recompute (%s, %s kernels)\n\n", platform(), ICIIA_VEC_ISA);
  std::printf("d = 1280, C = 1000, h = 4, L = 1, full attention; median of repetitions\n\n");
  std::printf("| g | history n | cached query ms | recompute ms | recompute / cached |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  for (int g : g_values) {
    const IciiaConfig c = bench_config(g);
    auto model = random_model(c);
    for (int n : {16, 64, 256, 1024}) {
      if (quick && n > 64) continue;
      IciiaSession s(model, {n});
      for (int i = 0; i < n; ++i) s.append(random_vector(c.dim, 100 + i));
      const auto target = random_vector(c.dim, 7);
      volatile float sink = 0.f;
      const double cached = bench::median_ms_batched([&] { sink = sink + s.query(target).logits[0]; }, 10, 9);
      const int reps = n >= 1024 ? 3 : n >= 256 ? 5 : 9;
      const double full = bench::median_ms([&] { sink = sink + s.query_recompute(target).logits[0]; }, reps);
      std::printf("| %d | %d | %.3f | %.2f | %.0fx |\n", g, n, cached, full, full / cached);
      std::fflush(stdout);
    }
  }
}

void bench_projection(bool quick) {
  std::printf("\n### Projection kernel, SIMD vs scalar reference (%s, %s)\n\n", platform(), ICIIA_VEC_ISA);
  std::printf("InProj of d = 1280 (3d outputs); median of repetitions\n\n");
  std::printf("| g | rows | SIMD ms | scalar ms | scalar / SIMD | SIMD GFLOP/s |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (int g : g_values) {
    const int m = 1280 / g;
    const kernels::LinearShape shape{g, m, 3 * m, true};
    const auto w = random_vector(static_cast<size_t>(g) * 3 * m * m, 1), b = random_vector(3 * 1280, 2);
    kernels::PackedLinear packed(shape, w, b);
    std::vector<float> scratch(packed.scratch_floats());
    // 128 rows: one block of IciiaSession::append_rows.
    for (int rows : {1, 64, 128}) {
      if (quick && rows > 1 && g == 1) continue;
      if (g == 1 && rows > 64) continue;
      const auto x = random_vector(static_cast<size_t>(rows) * 1280, 3);
      std::vector<float> y(static_cast<size_t>(rows) * 3 * 1280);
      const int inner = g == 1 ? (rows == 1 ? 20 : 1) : (rows == 1 ? 2000 : 50);
      const double simd = bench::median_ms_batched(
          [&] { packed.run(x.data(), rows, y.data(), scratch.data()); }, inner, 7);
      const double scalar = bench::median_ms_batched(
          [&] { kernels::ref::linear(shape, w.data(), b.data(), x.data(), rows, y.data(), kernels::Epilogue::none()); },
          inner, 7);
      const double flops = 2.0 * rows * 3 * m * m * g;
      std::printf("| %d | %d | %.4f | %.4f | %.2fx | %.1f |\n", g, rows, simd, scalar, scalar / simd,
                  flops / (simd * 1e6));
      std::fflush(stdout);
    }
  }
}

// Start-up: the k/v cache of a full stored history, rebuilt row by row
// (append) against multi-row passes (append_rows).
void bench_startup(bool quick) {
  std::printf("\n### k/v cache of a stored history at start-up, multi-row passes vs row by row (%s, %s)\n\n",
              platform(), ICIIA_VEC_ISA);
  std::printf("d = 1280, C = 1000, h = 4, L = 1, full attention, capacity = history n; median of repetitions\n\n");
  std::printf("| g | history n | append_rows ms | row by row ms | row by row / append_rows |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  for (int g : g_values) {
    const IciiaConfig c = bench_config(g);
    auto model = random_model(c);
    for (int n : {64, 1024}) {
      if (quick && n > 64) continue;
      IciiaSession s(model, {n});
      const auto rows = random_vector(static_cast<size_t>(n) * c.dim, 5);
      // g = 256 is cheap: more repetitions steady its median on a shared machine.
      const int reps = g > 1 ? 21 : n >= 1024 ? 5 : 9;
      const double batch = bench::median_ms(
          [&] {
            s.clear();
            s.append_rows(rows);
          },
          reps);
      const double one = bench::median_ms(
          [&] {
            s.clear();
            for (int i = 0; i < n; ++i) s.append({rows.data() + static_cast<size_t>(i) * c.dim, size_t(c.dim)});
          },
          reps);
      std::printf("| %d | %d | %.2f | %.2f | %.2fx |\n", g, n, batch, one, one / batch);
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::vector<std::string> sections;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--g") == 0 && i + 1 < argc &&
               (std::strcmp(argv[i + 1], "1") == 0 || std::strcmp(argv[i + 1], "256") == 0)) {
      g_values = {std::atoi(argv[++i])};
    } else if (std::strcmp(argv[i], "projection") == 0 || std::strcmp(argv[i], "startup") == 0 ||
               std::strcmp(argv[i], "query") == 0) {
      sections.emplace_back(argv[i]);
    } else {
      std::fprintf(stderr, "iciia_bench_session: unknown argument '%s' (expected --quick, --g 1|256, projection, startup, query)\n",
                   argv[i]);
      return 2;
    }
  }
  auto wanted = [&](const char* name) {
    return sections.empty() || std::find(sections.begin(), sections.end(), name) != sections.end();
  };
  if (wanted("projection")) bench_projection(quick);
  if (wanted("startup")) bench_startup(quick);
  if (wanted("query")) bench_session(quick);
  return 0;
}
