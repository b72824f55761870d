// EM prior correction (src/adapt/prior_correction): recovers a known label
// shift from calibrated posteriors, keeps a matched prior fixed, smooths
// with α, warm-starts, and refuses sizes that do not fit.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "adapt/prior_correction.h"
#include "test_support.h"

namespace iciia::adapt {
namespace {

// Posteriors of a calibrated classifier: class y emits x ~ N(y, sd²) in one
// dimension, and p(y|x) is Bayes' rule under the source prior. Labels are
// drawn from `target`, so the posteriors carry the shift EM should find.
std::vector<float> shifted_posteriors(const std::vector<double>& target, const std::vector<double>& source, int m,
                                      double sd, uint32_t seed, std::vector<int>* labels = nullptr) {
  const int c = static_cast<int>(target.size());
  std::mt19937 rng(seed);
  std::discrete_distribution<int> draw(target.begin(), target.end());
  std::normal_distribution<double> noise(0, sd);
  std::vector<float> probs;
  for (int i = 0; i < m; ++i) {
    const int y = draw(rng);
    if (labels) labels->push_back(y);
    const double x = y + noise(rng);
    std::vector<double> p(c);
    for (int k = 0; k < c; ++k) p[k] = source[k] * std::exp(-0.5 * (x - k) * (x - k) / (sd * sd));
    const double z = std::accumulate(p.begin(), p.end(), 0.0);
    for (double v : p) probs.push_back(static_cast<float>(v / z));
  }
  return probs;
}

TEST(PriorCorrection, EmptyHistoryGivesTheSourcePrior) {
  const PriorResult u = estimate_prior({}, 4, {}, {});
  EXPECT_EQ(u.iterations, 0);
  for (double q : u.prior) EXPECT_DOUBLE_EQ(q, 0.25);
  const std::vector<double> s = {0.1, 0.2, 0.3, 0.4};
  EXPECT_EQ(estimate_prior({}, 4, s, {}).prior, s);
}

TEST(PriorCorrection, RecoversAKnownLabelShift) {
  const std::vector<double> uniform(4, 0.25), target = {0.6, 0.3, 0.1, 0.0};
  const std::vector<float> probs = shifted_posteriors(target, uniform, 20000, 0.6, 7);
  const PriorResult r = estimate_prior(probs, 4, {}, {});
  ASSERT_EQ(r.prior.size(), 4u);
  for (int y = 0; y < 4; ++y) EXPECT_NEAR(r.prior[y], target[y], 0.02) << "class " << y;
  EXPECT_NEAR(std::accumulate(r.prior.begin(), r.prior.end(), 0.0), 1.0, 1e-9);
  EXPECT_GT(r.iterations, 1);
  EXPECT_LE(r.iterations, 100);
}

TEST(PriorCorrection, NonUniformSourcePrior) {
  // The classifier was trained under a skewed prior; the client is uniform.
  const std::vector<double> source = {0.7, 0.1, 0.1, 0.1}, target(4, 0.25);
  const std::vector<float> probs = shifted_posteriors(target, source, 20000, 0.6, 3);
  const PriorResult r = estimate_prior(probs, 4, source, {});
  for (int y = 0; y < 4; ++y) EXPECT_NEAR(r.prior[y], 0.25, 0.02) << "class " << y;
  // Assuming a uniform source instead reads the training skew as the client's.
  const PriorResult wrong = estimate_prior(probs, 4, {}, {});
  EXPECT_GT(wrong.prior[0], 0.4);
}

TEST(PriorCorrection, CorrectionImprovesAccuracyUnderShift) {
  const std::vector<double> uniform(3, 1.0 / 3), target = {0.85, 0.15, 0.0};
  std::vector<int> labels;
  const std::vector<float> probs = shifted_posteriors(target, uniform, 4000, 0.8, 11, &labels);
  const PriorResult r = estimate_prior(probs, 3, {}, {});
  int before = 0, after = 0;
  std::vector<float> out(3);
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::span<const float> p(probs.data() + 3 * i, 3);
    correct_posterior(p, r.prior, {}, out);
    before += std::max_element(p.begin(), p.end()) - p.begin() == labels[i];
    after += std::max_element(out.begin(), out.end()) - out.begin() == labels[i];
    EXPECT_NEAR(out[0] + out[1] + out[2], 1.0f, 1e-5f);
  }
  EXPECT_GT(after, before + static_cast<int>(labels.size()) / 50) << before << " -> " << after;
}

TEST(PriorCorrection, MatchedPriorLeavesPosteriorsUnchanged) {
  const std::vector<double> source = {0.5, 0.3, 0.2};
  const std::vector<float> p = {0.2f, 0.5f, 0.3f};
  std::vector<float> out(3);
  correct_posterior(p, source, source, out);
  for (int y = 0; y < 3; ++y) EXPECT_NEAR(out[y], p[y], 1e-6f);
  // Uniform source, skewed prior: p(y) q(y) renormalised.
  correct_posterior(std::vector<float>{0.5f, 0.5f}, std::vector<double>{0.9, 0.1}, {}, out = std::vector<float>(2));
  EXPECT_NEAR(out[0], 0.9f, 1e-6f);
  EXPECT_NEAR(out[1], 0.1f, 1e-6f);
  // In place.
  std::vector<float> q = {0.5f, 0.5f};
  correct_posterior(q, std::vector<double>{0.2, 0.8}, {}, q);
  EXPECT_NEAR(q[1], 0.8f, 1e-6f);
}

TEST(PriorCorrection, ZeroMassKeepsThePosterior) {
  const std::vector<float> p = {1.0f, 0.0f};
  std::vector<float> out(2);
  correct_posterior(p, std::vector<double>{0.0, 1.0}, {}, out);
  EXPECT_EQ(out, p);
}

TEST(PriorCorrection, DirichletSmoothingKeepsEveryClassAlive) {
  const std::vector<double> uniform(4, 0.25), target = {1.0, 0.0, 0.0, 0.0};
  const std::vector<float> probs = shifted_posteriors(target, uniform, 3, 0.3, 5);
  const PriorResult ml = estimate_prior(probs, 4, {}, {});
  PriorOptions map;
  map.alpha = 1;
  const PriorResult smoothed = estimate_prior(probs, 4, {}, map);
  EXPECT_LT(ml.prior[3], 1e-3);
  for (int y = 1; y < 4; ++y) EXPECT_GT(smoothed.prior[y], 0.1) << "class " << y;
  EXPECT_GT(smoothed.prior[0], smoothed.prior[1]);
  // Heavier smoothing pulls towards uniform.
  map.alpha = 1000;
  for (double q : estimate_prior(probs, 4, {}, map).prior) EXPECT_NEAR(q, 0.25, 0.01);
}

TEST(PriorCorrection, WarmStartAfterAnAppendTakesFewerIterations) {
  // The runtime's pattern: q of the history so far, then one image more.
  // (Every class present: with a class absent, ML-EM creeps towards zero
  // for it and takes the full iteration budget from any start.)
  const std::vector<double> uniform(5, 0.2), target = {0.4, 0.25, 0.15, 0.12, 0.08};
  const std::vector<float> probs = shifted_posteriors(target, uniform, 64, 0.7, 9);
  const std::span<const float> before(probs.data(), probs.size() - 5);
  const PriorResult previous = estimate_prior(before, 5, {}, {});
  const PriorResult cold = estimate_prior(probs, 5, {}, {});
  const PriorResult warm = estimate_prior(probs, 5, {}, {}, previous.prior);
  EXPECT_LT(warm.iterations * 2, cold.iterations) << warm.iterations << " vs " << cold.iterations;
  // Both stop at the same fixed point, up to EM's slow linear tail.
  for (int y = 0; y < 5; ++y) EXPECT_NEAR(warm.prior[y], cold.prior[y], 1e-3);
  // The iteration cap holds.
  PriorOptions capped;
  capped.max_iterations = 3;
  EXPECT_EQ(estimate_prior(probs, 5, {}, capped).iterations, 3);
}

TEST(PriorCorrection, RefusesSizesThatDoNotFit) {
  const std::vector<float> probs(10, 0.2f);
  test::expect_error([&] { estimate_prior(probs, 3, {}, {}); }, ErrorCode::kInvalidArgument, {"10", "rows of 3"});
  test::expect_error([&] { estimate_prior(probs, 5, std::vector<double>(4, 0.25), {}); },
                     ErrorCode::kInvalidArgument, {"source prior", "4 entries", "expected 5"});
  test::expect_error([&] { estimate_prior(probs, 5, {}, {}, std::vector<double>(2, 0.5)); },
                     ErrorCode::kInvalidArgument, {"warm start"});
  PriorOptions negative;
  negative.alpha = -1;
  test::expect_error([&] { estimate_prior(probs, 5, {}, negative); }, ErrorCode::kInvalidArgument, {"alpha"});
  std::vector<float> out(2);
  test::expect_error([&] { correct_posterior(probs, std::vector<double>(10, 0.1), {}, out); },
                     ErrorCode::kInvalidArgument, {"posterior of 10 classes"});
}

}  // namespace
}  // namespace iciia::adapt
