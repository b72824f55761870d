// The incremental session against full recomputation.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "iciia/session.h"
#include "iciia_test_models.h"
#include "util/error.h"

namespace iciia {
namespace {

using test::make_config;
using test::random_floats;

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0.f;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::vector<float> feature(const IciiaSession& s, uint32_t seed) {
  return random_floats(s.model().config().dim, seed, -2.f, 2.f);
}

struct SessionCase {
  const char* name;
  IciiaConfig config;
  int capacity;
  int steps;
};

class SessionVsRecompute : public ::testing::TestWithParam<SessionCase> {};

// After every append, the cached query equals the recompute over
// [history; target], logits and attention weights, including past eviction
// where the cache is exact.
TEST_P(SessionVsRecompute, CachedQueryMatchesRecompute) {
  const auto& p = GetParam();
  IciiaSession s(test::random_model(p.config, 11), {p.capacity});
  const bool exact_after_eviction = p.config.num_layers == 1 || !s.cached();
  for (int step = 0; step < p.steps; ++step) {
    if (s.size() == s.capacity() && !exact_after_eviction) break;
    const auto target = feature(s, 1000 + step);
    const QueryResult a = s.query(target, {.attention = true});
    const QueryResult b = s.query_recompute(target, {.attention = true});
    ASSERT_EQ(a.attention.size(), static_cast<size_t>(s.size()));
    EXPECT_LE(max_abs_diff(a.logits, b.logits), 1e-5f) << "step " << step << ", history " << s.size();
    EXPECT_LE(max_abs_diff(a.attention, b.attention), 1e-6f) << "step " << step;
    float total = 0.f;
    for (float w : a.attention) total += w;
    EXPECT_LE(total, 1.f + 1e-5f);
    s.append(feature(s, step));
  }
  EXPECT_EQ(s.size(), std::min(p.steps, p.capacity));
}

INSTANTIATE_TEST_SUITE_P(
    Modes, SessionVsRecompute,
    ::testing::Values(
        SessionCase{"full_g1", make_config(24, 7, 4, 1, 1, true, AttentionMode::kFull), 5, 12},
        SessionCase{"full_g8_shuffle", make_config(32, 7, 4, 1, 8, true, AttentionMode::kFull), 6, 14},
        SessionCase{"full_padded_noshuffle", make_config(22, 5, 5, 1, 5, false, AttentionMode::kFull), 4, 9},
        SessionCase{"causal_L3_g1", make_config(16, 5, 2, 3, 1, true, AttentionMode::kCausal), 9, 9},
        SessionCase{"causal_L2_g16", make_config(32, 5, 4, 2, 16, true, AttentionMode::kCausal), 7, 7},
        SessionCase{"causal_L1_evicts", make_config(16, 5, 2, 1, 4, true, AttentionMode::kCausal), 3, 8},
        SessionCase{"full_L2_recompute", make_config(16, 5, 2, 2, 4, true, AttentionMode::kFull), 3, 7}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Session, CacheUsedExactlyWhereExact) {
  EXPECT_TRUE(IciiaSession(test::random_model(make_config(8, 2, 2, 1, 1, true, AttentionMode::kFull))).cached());
  EXPECT_TRUE(IciiaSession(test::random_model(make_config(8, 2, 2, 3, 1, true, AttentionMode::kCausal))).cached());
  EXPECT_FALSE(IciiaSession(test::random_model(make_config(8, 2, 2, 2, 1, true, AttentionMode::kFull))).cached());
}

// Causal fixtures hold the logits of every position; position i is exactly a
// query with rows 0..i-1 as history, so the streamed session must give all of them.
TEST(Session, CausalStreamReproducesEveryFixtureRow) {
  namespace fs = std::filesystem;
  int checked = 0;
  for (const auto& e : fs::directory_iterator(fs::path(test::source_dir()) / "tests/fixtures/iciia")) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(".safetensors") || name.ends_with(".io.safetensors")) continue;
    auto model = IciiaModel::load_file(e.path().string());
    if (model->config().attention != AttentionMode::kCausal) continue;
    SCOPED_TRACE(name);
    fs::path io = e.path();
    io.replace_extension(".io.safetensors");
    const auto ref = Safetensors::read_file(io.string());
    const auto x = ref.to_f32(ref.get("input")), y = ref.to_f32(ref.get("output"));
    const int d = model->config().dim, C = model->config().num_classes, S = static_cast<int>(x.size() / d);
    IciiaSession s(model, {S});
    for (int i = 0; i < S; ++i) {
      auto r = s.query({x.data() + i * d, static_cast<size_t>(d)}, {.append = true});
      std::vector<float> want(y.begin() + i * C, y.begin() + (i + 1) * C);
      EXPECT_LE(max_abs_diff(r.logits, want), 1e-4f) << "row " << i;
    }
    ++checked;
  }
  EXPECT_GE(checked, 2) << "expected causal fixtures in tests/fixtures/iciia";
}

TEST(Session, QueryWithAppendEqualsQueryThenAppend) {
  for (auto mode : {AttentionMode::kFull, AttentionMode::kCausal}) {
    const int layers = mode == AttentionMode::kFull ? 1 : 2;
    auto model = test::random_model(make_config(20, 4, 2, layers, 4, true, mode), 5);
    IciiaSession a(model, {4}), b(model, {4});
    for (int i = 0; i < 7; ++i) {
      const auto f = random_floats(20, 50 + i);
      const auto ra = a.query(f, {.append = true});
      const auto rb = b.query(f);
      b.append(f);
      EXPECT_EQ(ra.logits, rb.logits);
    }
    const auto probe = random_floats(20, 99);
    EXPECT_EQ(a.query(probe).logits, b.query(probe).logits);
    for (int i = 0; i < a.size(); ++i) {
      const auto ra = a.embedded_row(i), rb = b.embedded_row(i);
      EXPECT_TRUE(std::equal(ra.begin(), ra.end(), rb.begin()));
    }
  }
}

// A history rebuilt in multi-row passes (append_rows) is the history of
// appending row by row: same rows, same answers to float rounding, for every
// cached mode (full L = 1, causal L = 2), dense and partitioned projections,
// from empty and partly filled sessions, with rows past the capacity.
TEST(Session, AppendRowsEqualsAppendingOneByOne) {
  struct Case {
    IciiaConfig config;
    int capacity, before, rows;
  };
  const Case cases[] = {
      {make_config(20, 4, 2, 1, 1, false, AttentionMode::kFull), 16, 0, 16},   // dense, one block, full
      {make_config(20, 4, 2, 2, 4, true, AttentionMode::kCausal), 16, 3, 9},   // causal L = 2 after 3 rows
      {make_config(40, 5, 2, 1, 8, true, AttentionMode::kFull), 300, 0, 300},  // interleaved g = 8, 3 blocks
      {make_config(20, 4, 2, 2, 4, false, AttentionMode::kCausal), 6, 2, 9},   // past the capacity: evicts
      // interleaved, g = 10 (not a multiple of 4), several blocks and tiles, a partial last one
      {make_config(30, 5, 2, 1, 10, true, AttentionMode::kFull), 64, 5, 59},
      // causal L = 2, interleaved, d = 29 padded to 30 (embed zero-fills)
      {make_config(29, 5, 2, 2, 10, true, AttentionMode::kCausal), 40, 0, 37},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("g " + std::to_string(c.config.num_partitions) + ", L " + std::to_string(c.config.num_layers) +
                 ", capacity " + std::to_string(c.capacity) + ", before " + std::to_string(c.before) + ", rows " +
                 std::to_string(c.rows));
    auto model = test::random_model(c.config, 7);
    IciiaSession one(model, {c.capacity}), batch(model, {c.capacity});
    const int d = c.config.dim;
    std::vector<float> rows;
    for (int i = 0; i < c.before + c.rows; ++i) {
      const auto f = random_floats(d, 300 + i);
      one.append(f);
      if (i < c.before)
        batch.append(f);
      else
        rows.insert(rows.end(), f.begin(), f.end());
    }
    batch.append_rows(rows);
    ASSERT_EQ(batch.size(), one.size());
    for (int i = 0; i < one.size(); ++i) {
      const auto ra = one.embedded_row(i), rb = batch.embedded_row(i);
      EXPECT_TRUE(std::equal(ra.begin(), ra.end(), rb.begin())) << "row " << i;
    }
    for (uint32_t probe = 0; probe < 3; ++probe) {
      const auto f = random_floats(d, 900 + probe);
      const QueryResult a = one.query(f, {.attention = true}), b = batch.query(f, {.attention = true});
      EXPECT_LE(max_abs_diff(a.logits, b.logits), 1e-5f);
      EXPECT_LE(max_abs_diff(a.attention, b.attention), 1e-6f);
      // The interleaved kernel (g >= 8) gives a row the same floats in a
      // multi-row pass as alone, so the cached k/v and the answers agree exactly.
      if (c.config.num_partitions >= 8) {
        EXPECT_EQ(a.logits, b.logits);
        EXPECT_EQ(a.attention, b.attention);
      }
    }
  }
}

TEST(Session, AppendRowsChecksEveryRowFirst) {
  auto model = test::random_model(make_config(8, 3, 2, 1, 1, true, AttentionMode::kFull));
  IciiaSession s(model, {8});
  s.append(random_floats(8, 1));
  auto rows = random_floats(8 * 3, 2);
  rows[8 + 4] = INFINITY;
  try {
    s.append_rows(rows);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("feature value 4 is not finite (inf) (row 1 of 3)"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(s.append_rows(random_floats(7, 3)), Error);
  EXPECT_EQ(s.size(), 1);
}

TEST(Session, FifoKeepsNewestRowsInOrder) {
  auto model = test::random_model(make_config(8, 3, 2, 1, 1, true, AttentionMode::kFull));
  IciiaSession s(model, {3});
  for (int i = 0; i < 5; ++i) s.append(std::vector<float>(8, static_cast<float>(i)));
  ASSERT_EQ(s.size(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(s.embedded_row(i)[0], static_cast<float>(i + 2));
  s.clear();
  EXPECT_EQ(s.size(), 0);
  EXPECT_EQ(s.query(std::vector<float>(8, 1.f), {.attention = true}).attention.size(), 0u);
}

TEST(Session, EmptyHistoryEqualsSingleRowForward) {
  auto model = test::random_model(make_config(12, 4, 3, 1, 3, false, AttentionMode::kFull));
  IciiaSession s(model);
  const auto f = random_floats(12, 3);
  std::vector<float> want(4);
  model->forward(f, 1, want);
  EXPECT_LE(max_abs_diff(s.query(f).logits, want), 1e-6f);
}

TEST(Session, BadFeatureThrowsAndKeepsHistory) {
  auto model = test::random_model(make_config(8, 3, 2, 1, 1, true, AttentionMode::kFull));
  IciiaSession s(model, {4});
  s.append(random_floats(8, 1));
  const auto before = s.query(random_floats(8, 2)).logits;
  auto expect_invalid = [&](const std::vector<float>& f, const std::string& substring) {
    try {
      s.append(f);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(substring), std::string::npos) << e.what();
    }
    EXPECT_THROW(s.query(f), Error);
  };
  expect_invalid(random_floats(7, 1), "feature has 7 values, the model expects dim = 8");
  auto nan = random_floats(8, 1);
  nan[5] = NAN;
  expect_invalid(nan, "feature value 5 is not finite");
  EXPECT_EQ(s.size(), 1);
  EXPECT_EQ(s.query(random_floats(8, 2)).logits, before);
  EXPECT_THROW(IciiaSession(model, {0}), Error);
}

}  // namespace
}  // namespace iciia
