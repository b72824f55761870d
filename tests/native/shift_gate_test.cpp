// The label-shift gate (src/adapt/shift_gate): its χ² quantiles, and that G
// from EM's maximum-likelihood prior rejects "no shift" at about the chosen
// rate when there is none and almost always when the client has few classes.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "adapt/prior_correction.h"
#include "adapt/shift_gate.h"
#include "util/error.h"

namespace iciia::adapt {
namespace {

// Posteriors of a calibrated classifier (class y emits x ~ N(y, sd²), Bayes
// under a uniform source prior) for m images whose labels follow `target`.
std::vector<float> posteriors(const std::vector<double>& target, int m, double sd, std::mt19937& rng) {
  const int c = static_cast<int>(target.size());
  std::discrete_distribution<int> draw(target.begin(), target.end());
  std::normal_distribution<double> noise(0, sd);
  std::vector<float> probs;
  for (int i = 0; i < m; ++i) {
    const double x = draw(rng) + noise(rng);
    std::vector<double> p(static_cast<size_t>(c));
    for (int k = 0; k < c; ++k) p[static_cast<size_t>(k)] = std::exp(-0.5 * (x - k) * (x - k) / (sd * sd));
    const double z = std::accumulate(p.begin(), p.end(), 0.0);
    for (double v : p) probs.push_back(static_cast<float>(v / z));
  }
  return probs;
}

double ml_statistic(const std::vector<float>& probs, int c) {
  return shift_statistic(probs, c, estimate_prior(probs, c, {}, {}).prior, {});
}

TEST(ShiftGate, ChiSquareQuantilesMatchTables) {
  // Exact values from the χ² tables; Wilson-Hilferty is within 1% here.
  EXPECT_NEAR(chi_square_quantile(9, 0.95), 16.919, 0.17);
  EXPECT_NEAR(chi_square_quantile(9, 0.99), 21.666, 0.22);
  EXPECT_NEAR(chi_square_quantile(3, 0.99), 11.345, 0.12);
  EXPECT_NEAR(chi_square_quantile(99, 0.99), 134.642, 0.2);
  EXPECT_NEAR(chi_square_quantile(999, 0.5), 998.33, 0.5);
  EXPECT_NEAR(chi_square_quantile(1, 0.95), 3.841, 0.2);
  EXPECT_LT(chi_square_quantile(9, 0.9), chi_square_quantile(9, 0.99));
  EXPECT_THROW(chi_square_quantile(0, 0.9), Error);
  EXPECT_THROW(chi_square_quantile(9, 1.0), Error);
  EXPECT_THROW(chi_square_quantile(9, 0.0), Error);
}

TEST(ShiftGate, StatisticOfKnownCases) {
  const int c = 4;
  // One-hot rows of class 0 under q = (1, 0, 0, 0): each row contributes 2 log 4.
  std::vector<float> probs(3 * c, 0.f);
  for (int i = 0; i < 3; ++i) probs[static_cast<size_t>(i * c)] = 1.f;
  const std::vector<double> q = {1, 0, 0, 0};
  EXPECT_NEAR(shift_statistic(probs, c, q, {}), 3 * 2 * std::log(4.0), 1e-9);
  // The source prior itself: no evidence.
  const std::vector<double> u(c, 0.25);
  EXPECT_NEAR(shift_statistic(probs, c, u, {}), 0, 1e-12);
  // A non-uniform source prior scales each ratio: q = π_s gives 0 again.
  const std::vector<double> s = {0.4, 0.3, 0.2, 0.1};
  EXPECT_NEAR(shift_statistic(probs, c, s, s), 0, 1e-12);
  // All-zero rows (records without a posterior) count for nothing; none: 0.
  std::vector<float> with_zero = probs;
  with_zero.resize(with_zero.size() + c, 0.f);
  EXPECT_DOUBLE_EQ(shift_statistic(with_zero, c, q, {}), shift_statistic(probs, c, q, {}));
  EXPECT_EQ(shift_statistic({}, c, q, {}), 0);
  // Sizes that do not fit are refused.
  EXPECT_THROW(shift_statistic(std::vector<float>(5, 0.2f), c, q, {}), Error);
  EXPECT_THROW(shift_statistic(probs, c, std::vector<double>(3, 0.3), {}), Error);
}

TEST(ShiftGate, RejectsAtAboutTheLevelWithoutShift) {
  // Wilks: with no shift, G ~ χ²(C-1), so a 0.95 gate fires on ~5% of
  // clients. 1000 clients of 64 images: 50 expected, sd ~7.
  const int c = 5, clients = 1000;
  std::mt19937 rng(7);
  const double threshold = chi_square_quantile(c - 1, 0.95);
  int fired = 0;
  for (int t = 0; t < clients; ++t) fired += ml_statistic(posteriors(std::vector<double>(c, 1.0), 64, 0.6, rng), c) > threshold;
  EXPECT_GT(fired, 25);
  EXPECT_LT(fired, 80);
}

TEST(ShiftGate, FiresOnAFewClassClient) {
  // Two of five classes, 16 images of a sharp classifier: the shift is plain.
  const int c = 5, clients = 200;
  std::mt19937 rng(8);
  const double threshold = chi_square_quantile(c - 1, 0.99);
  int fired = 0;
  for (int t = 0; t < clients; ++t) fired += ml_statistic(posteriors({1, 0, 0, 1, 0}, 16, 0.35, rng), c) > threshold;
  EXPECT_GT(fired, 190);
}

}  // namespace
}  // namespace iciia::adapt
