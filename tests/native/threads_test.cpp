// The thread pool, and every kernel and the engine split over it: each task
// runs once, worker indices never collide, errors reach the caller, and the
// outputs equal the one-thread pass bit for bit.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../models/benchmark_models.h"
#include "engine/engine.h"
#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "kernels/pool.h"
#include "onnx/onnx_writer.h"
#include "pipeline/preprocess.h"
#include "test_support.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace iciia {
namespace {

TEST(ThreadPool, RunsEveryTaskOnceWithDistinctWorkers) {
  ThreadPool pool(3);
  ASSERT_EQ(pool.threads(), 3);
  std::vector<std::atomic<int>> busy(3);
  for (int round = 0; round < 200; ++round) {
    const int tasks = 1 + round % 37;
    std::vector<std::atomic<int>> runs(tasks);
    std::atomic<int> collisions{0};
    pool.run(tasks, [&](int i, int worker) {
      ASSERT_GE(worker, 0);
      ASSERT_LT(worker, 3);
      if (busy[worker].fetch_add(1) != 0) ++collisions;
      runs[i].fetch_add(1);
      busy[worker].fetch_sub(1);
    });
    for (int i = 0; i < tasks; ++i) ASSERT_EQ(runs[i].load(), 1) << "round " << round << ", task " << i;
    ASSERT_EQ(collisions.load(), 0) << "two tasks ran at once on one worker index";
  }
}

// Loops after pauses of every length: workers still spinning, just asleep,
// or asleep long enough to wake late, when the caller may already have taken
// every task and closed the loop. Each task still runs exactly once, on one
// worker index at a time, and an error still reaches the caller.
TEST(ThreadPool, LoopsAfterPausesRunEveryTaskOnce) {
  ThreadPool pool(3);
  std::mt19937 rng(5);
  const int pauses_us[] = {0, 20, 400, 3000};
  std::vector<std::atomic<int>> busy(3);
  for (int round = 0; round < 120; ++round) {
    std::this_thread::sleep_for(std::chrono::microseconds(pauses_us[rng() % 4]));
    const int tasks = 1 + static_cast<int>(rng() % 40);
    const bool fail = round % 10 == 9;
    std::vector<std::atomic<int>> runs(tasks);
    std::atomic<int> collisions{0};
    auto loop = [&] {
      pool.run(tasks, [&](int i, int worker) {
        if (busy[worker].fetch_add(1) != 0) ++collisions;
        runs[i].fetch_add(1);
        busy[worker].fetch_sub(1);
        if (fail && i == tasks - 1) throw std::runtime_error("last task");
      });
    };
    if (fail) {
      EXPECT_THROW(loop(), std::runtime_error) << "round " << round;
    } else {
      loop();
      for (int i = 0; i < tasks; ++i) ASSERT_EQ(runs[i].load(), 1) << "round " << round << ", task " << i;
    }
    for (int i = 0; i < tasks; ++i) ASSERT_LE(runs[i].load(), 1) << "round " << round << ", task " << i;
    ASSERT_EQ(collisions.load(), 0) << "round " << round << ": two tasks ran at once on one worker index";
  }
}

TEST(ThreadPool, UsesMoreThanOneThread) {
  ThreadPool pool(2);
  std::atomic<bool> seen[2] = {false, false};
  // Tasks that wait for each other can only finish when two threads run them.
  std::atomic<int> arrived{0};
  pool.run(2, [&](int, int worker) {
    seen[worker] = true;
    ++arrived;
    while (arrived.load() < 2) {
    }
  });
  EXPECT_TRUE(seen[0] && seen[1]);
}

TEST(ThreadPool, RethrowsTheFirstErrorAndStaysUsable) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.run(50,
                        [](int i, int) {
                          if (i == 7) throw std::runtime_error("task 7");
                        }),
               std::runtime_error);
  std::atomic<int> sum{0};
  pool.run(100, [&](int i, int) { sum += i; });
  EXPECT_EQ(sum.load(), 99 * 100 / 2);
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  pool.run(4, [&](int, int) { pool.run(5, [&](int, int worker) { inner += worker == 0 ? 1 : 100; }); });
  EXPECT_EQ(inner.load(), 20);
}

TEST(ThreadPool, SharedPoolsAndBadCounts) {
  EXPECT_EQ(ThreadPool::shared(1), nullptr);
  auto a = ThreadPool::shared(2), b = ThreadPool::shared(2);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->threads(), 2);
  EXPECT_THROW(ThreadPool(0), Error);
  EXPECT_THROW(ThreadPool(ThreadPool::kMaxThreads + 1), Error);
}

// ---- Kernels: the same bytes on 1 and 3 threads ----

struct ConvCase {
  const char* name;
  kernels::Conv2dParams p;
  int h, w, winograd_tile;
};

kernels::Conv2dParams conv_params(int in_c, int out_c, int k, int stride, int pad, int groups = 1) {
  kernels::Conv2dParams p;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.in_channels = in_c;
  p.out_channels = out_c;
  p.groups = groups;
  return p;
}

TEST(ParallelKernels, ConvolutionPathsMatchOneThreadBitForBit) {
  const ConvCase cases[] = {
      {"gemm1x1", conv_params(48, 40, 1, 1, 0), 23, 21, 0},
      {"gemm1x1 on one pixel (split by channels)", conv_params(960, 240, 1, 1, 0), 1, 1, 0},
      {"indirect on a 2x2 map (split by channels)", conv_params(64, 200, 3, 1, 1), 2, 2, 0},
      {"depthwise 3x3", conv_params(72, 72, 3, 1, 1, 72), 29, 27, 0},
      {"depthwise 5x5 stride 2", conv_params(40, 40, 5, 2, 2, 40), 31, 30, 0},
      {"indirect 3x3 stride 2", conv_params(32, 48, 3, 2, 1), 27, 25, 0},
      {"im2col stem", conv_params(3, 16, 3, 2, 1), 64, 61, 0},
      {"winograd F(4x4)", conv_params(32, 24, 3, 1, 1), 26, 23, 4},
      {"winograd F(2x2)", conv_params(24, 32, 3, 1, 1), 19, 22, 2},
  };
  ThreadPool pool(3);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const int taps = c.p.kernel_h * c.p.kernel_w;
    const auto weight =
        test::random_floats(static_cast<size_t>(c.p.out_channels) * (c.p.in_channels / c.p.groups) * taps, 1);
    const auto bias = test::random_floats(c.p.out_channels, 2);
    kernels::Conv2dHints hints;
    hints.winograd_tile = c.winograd_tile;
    const kernels::PackedConv2d conv(c.p, weight, bias, kernels::Epilogue::relu6(), hints);
    const int n = 2, oh = conv.out_h(c.h), ow = conv.out_w(c.w);
    const auto in = test::random_floats(static_cast<size_t>(n) * c.h * c.w * c.p.in_channels, 3);
    const size_t out_floats = static_cast<size_t>(n) * oh * ow * c.p.out_channels;
    const auto residual = test::random_floats(out_floats, 4);
    const size_t per_worker = std::max<size_t>(conv.scratch_floats(c.h, c.w, n), 1);

    std::vector<float> one(out_floats), three(out_floats, -7.f), scratch(per_worker * 3);
    conv.run(in.data(), n, c.h, c.w, one.data(), scratch.data(), residual.data());
    conv.run(in.data(), n, c.h, c.w, three.data(), scratch.data(), residual.data(), {&pool, per_worker});
    EXPECT_EQ(std::memcmp(one.data(), three.data(), out_floats * sizeof(float)), 0);
  }
}

TEST(ParallelKernels, GemmRowsAndSingleRowMatchOneThreadBitForBit) {
  ThreadPool pool(3);
  const int k = 300, n = 1000;
  const kernels::PackedGemm gemm(k, n, test::random_floats(static_cast<size_t>(k) * n, 5), test::random_floats(n, 6),
                                 kernels::Epilogue::hardswish());
  for (int m : {1, 2, 37}) {
    SCOPED_TRACE(m);
    const auto a = test::random_floats(static_cast<size_t>(m) * k, 7);
    std::vector<float> one(static_cast<size_t>(m) * n), three(one.size(), -7.f);
    gemm.run(a.data(), m, k, one.data(), n);
    gemm.run(a.data(), m, k, three.data(), n, nullptr, 0, 0, {&pool, 0});
    EXPECT_EQ(std::memcmp(one.data(), three.data(), one.size() * sizeof(float)), 0);
  }
}

TEST(ParallelKernels, GlobalAveragePoolMatchesOneThreadBitForBit) {
  ThreadPool pool(3);
  const int n = 2, h = 14, w = 13, c = 200;
  const auto in = test::random_floats(static_cast<size_t>(n) * h * w * c, 9);
  std::vector<float> one(static_cast<size_t>(n) * c), three(one.size(), -7.f);
  kernels::global_avg_pool(in.data(), n, h, w, c, one.data());
  kernels::global_avg_pool(in.data(), n, h, w, c, three.data(), {&pool, 0});
  EXPECT_EQ(std::memcmp(one.data(), three.data(), one.size() * sizeof(float)), 0);
}

// ---- The engine: a whole backbone on 1, 2 and 3 threads ----

// Preprocessing splits output rows into one block per thread, each with its
// own ring of source rows: the same floats on 1, 2 and 3 threads, for camera
// frames (split) and a small image (not worth splitting), in every colour
// conversion.
TEST(ParallelKernels, PreprocessingMatchesOneThreadBitForBit) {
  ThreadPool two(2), three(3);
  struct Case {
    int w, h, in_c, out_c, ow, oh;
  };
  for (const Case& c : {Case{640, 480, 4, 3, 224, 224}, Case{641, 479, 3, 3, 224, 224}, Case{640, 480, 1, 3, 96, 96},
                        Case{1280, 720, 4, 1, 224, 224}, Case{28, 28, 1, 1, 28, 28}, Case{300, 200, 3, 3, 500, 301}}) {
    std::vector<uint8_t> px(size_t(c.w) * c.h * c.in_c);
    for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 2654435761u) >> 13);
    PreprocessSpec spec;
    spec.width = c.ow, spec.height = c.oh, spec.channels = c.out_c;
    spec.mean.assign(c.out_c, 0.45f);
    spec.std.assign(c.out_c, 0.22f);
    const ImageView view{px.data(), c.w, c.h, c.in_c};
    const std::vector<float> one = preprocess(view, spec);
    for (ThreadPool* pool : {&two, &three}) {
      const std::vector<float> many = preprocess(view, spec, kernels::Parallel{pool});
      ASSERT_EQ(many.size(), one.size());
      EXPECT_EQ(std::memcmp(many.data(), one.data(), one.size() * sizeof(float)), 0)
          << c.w << "x" << c.h << "x" << c.in_c << " -> " << c.ow << "x" << c.oh << "x" << c.out_c << " on "
          << pool->threads() << " threads";
    }
  }
}

TEST(EngineThreads, ResNet18OutputsDoNotDependOnTheThreadCount) {
  const auto bytes = write_onnx(test_models::resnet18().model);
  engine::EngineOptions options;
  const auto x = test::random_floats(3 * 224 * 224, 8);
  std::vector<float> want;
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(threads);
    options.threads = threads;
    engine::Engine e = engine::Engine::load(bytes, options);
    EXPECT_EQ(e.threads(), threads);
    // Winograd's transformed tiles (ResNet-18's largest scratch) are shared
    // by the threads, not copied per thread: the arena holds the values and
    // the larger of one shared buffer and a per-thread scratch each.
    const engine::Plan& plan = e.plan();
    ASSERT_GT(plan.shared_scratch_floats, 0);
    const int64_t stride = (plan.scratch_floats + 15) / 16 * 16;
    EXPECT_EQ(e.arena_bytes(),
              static_cast<size_t>(plan.arena_floats + std::max<int64_t>(stride * threads, plan.shared_scratch_floats)) *
                  sizeof(float));
    for (int rep = 0; rep < 2; ++rep) {
      e.run(x);
      const auto got = e.read(e.readable()[0]);
      if (want.empty()) want = got;
      ASSERT_EQ(got.size(), want.size());
      EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
    }
  }
}

TEST(EngineThreads, RejectsAThreadCountOutOfRange) {
  const auto bytes = write_onnx(test_models::resnet18().model);
  for (int threads : {0, -1, ThreadPool::kMaxThreads + 1}) {
    engine::EngineOptions options;
    options.threads = threads;
    try {
      engine::Engine::load(bytes, options);
      ADD_FAILURE() << "threads " << threads << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("threads"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace iciia
