// Preprocessing a camera frame (640x480 RGBA -> 224x224 RGB, ImageNet mean
// and std, as `iciia bundle --preprocess imagenet` writes), the fast path
// against the scalar reference, side by side in one process. Builds natively
// and for WebAssembly (tests/bench/preprocess.sh runs both) and prints a
// markdown table of medians and the ratio. With --threads N (N > 1, where
// the build has threads), also the fast path split over N threads, against
// itself on one.
//
// Usage: iciia_bench_preprocess [--reps N] [--rounds N] [--threads N]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "kernels/vec.h"
#include "pipeline/preprocess.h"
#include "util/error.h"
#include "util/thread_pool.h"

using namespace iciia;

int main(int argc, char** argv) {
  int reps = 50, rounds = 5, threads = 1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: iciia_bench_preprocess [--reps N] [--rounds N] [--threads N]\n");
      return 2;
    }
  }
  if (reps < 1 || rounds < 1 || threads < 1) {
    std::fprintf(stderr, "--reps, --rounds and --threads must be >= 1\n");
    return 2;
  }
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) {
    try {
      pool = std::make_unique<ThreadPool>(threads);
    } catch (const Error& e) {
      std::printf("\n--threads %d: %s; timing one thread only\n", threads, e.what());
    }
  }
  const kernels::Parallel par{pool.get()};
  PreprocessSpec spec;
  spec.height = spec.width = 224;
  spec.channels = 3;
  spec.mean = {0.485f, 0.456f, 0.406f};
  spec.std = {0.229f, 0.224f, 0.225f};

  struct Row {
    const char* name;
    int w, h, c;
  };
  const Row rows[] = {{"640x480 RGBA -> 224x224x3", 640, 480, 4},
                      {"640x480 RGB -> 224x224x3", 640, 480, 3},
                      {"1280x720 RGBA -> 224x224x3", 1280, 720, 4}};
  std::printf("\nvector layer %s; medians of %d calls, best of %d rounds alternating fast and reference\n\n",
              ICIIA_VEC_ISA, reps, rounds);
  if (pool)
    std::printf("| input | fast ms | scalar reference ms | reference / fast | fast, %d threads ms | 1 thread / %d threads |\n"
                "|---|---|---|---|---|---|\n", threads, threads);
  else
    std::printf("| input | fast ms | scalar reference ms | reference / fast |\n|---|---|---|---|\n");
  std::vector<std::vector<uint8_t>> pixels;
  for (const Row& r : rows) {
    std::mt19937 rng(7);
    pixels.emplace_back(size_t(r.w) * r.h * r.c);
    for (auto& p : pixels.back()) p = uint8_t(rng() >> 24);
  }
  std::vector<float> a(size_t(3) * 224 * 224), b(a.size());
  // Warm-up of every row before any timing: under Node, V8 first runs wasm
  // from its baseline compiler and tiers hot functions up in the background;
  // the first row would otherwise time partly unoptimised code.
  for (int i = 0; i < 40; ++i)
    for (size_t k = 0; k < pixels.size(); ++k) {
      const ImageView img{pixels[k].data(), rows[k].w, rows[k].h, rows[k].c};
      preprocess(img, spec, a);
      ref::preprocess(img, spec, b);
    }
  for (size_t k = 0; k < pixels.size(); ++k) {
    const Row& r = rows[k];
    const ImageView img{pixels[k].data(), r.w, r.h, r.c};
    // Rounds alternate the two so that a burst of load from other processes
    // hits both; the best round's median is the least disturbed one.
    double fast = 1e30, slow = 1e30, split = 1e30;
    std::vector<float> c(a.size());
    for (int round = 0; round < rounds; ++round) {
      fast = std::min(fast, bench::median_ms([&] { preprocess(img, spec, a); }, reps, 2));
      slow = std::min(slow, bench::median_ms([&] { ref::preprocess(img, spec, b); }, reps, 2));
      if (pool) split = std::min(split, bench::median_ms([&] { preprocess(img, spec, c, par); }, reps, 2));
    }
    if (std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) != 0 ||
        (pool && std::memcmp(a.data(), c.data(), a.size() * sizeof(float)) != 0)) {
      std::fprintf(stderr, "fast, threaded and reference outputs differ for %s\n", r.name);
      return 1;
    }
    if (pool)
      std::printf("| %s | %.3f | %.3f | %.2fx | %.3f | %.2fx |\n", r.name, fast, slow, slow / fast, split, fast / split);
    else
      std::printf("| %s | %.3f | %.3f | %.2fx |\n", r.name, fast, slow, slow / fast);
  }
  return 0;
}
