#include "adapt/shift_gate.h"

#include <cmath>
#include <string>
#include <vector>

#include "adapt/prior_correction.h"
#include "util/error.h"

namespace iciia::adapt {
namespace {

// Inverse of the standard normal CDF: Acklam's rational approximation
// (relative error below 1.2e-9), plenty for a test threshold.
double normal_quantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double low = 0.02425;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -normal_quantile(1 - p);
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

}  // namespace

double shift_statistic(std::span<const float> probs, int c, std::span<const double> q,
                       std::span<const double> source) {
  if (c < 1 || probs.size() % static_cast<size_t>(c) != 0 || q.size() != static_cast<size_t>(c) ||
      (!source.empty() && source.size() != static_cast<size_t>(c)))
    throw Error(ErrorCode::kInvalidArgument, "shift gate: " + std::to_string(probs.size()) + " probabilities, " +
                                                 std::to_string(q.size()) + " prior entries and " +
                                                 std::to_string(source.size()) + " source prior entries do not fit " +
                                                 std::to_string(c) + " classes");
  std::vector<double> w;
  prior_ratios(q, source, w);
  double g = 0;
  for (size_t i = 0; i < probs.size() / static_cast<size_t>(c); ++i) {
    const float* p = probs.data() + i * static_cast<size_t>(c);
    double ratio = 0, mass = 0;
    for (int y = 0; y < c; ++y) {
      mass += p[y];
      ratio += p[y] * w[static_cast<size_t>(y)];
    }
    if (mass == 0) continue;  // a record without a posterior
    // A q with no mass where this image has any: the shift hypothesis cannot
    // explain the image at all (only a smoothed or warm q gets here).
    if (!(ratio > 0)) return 0;
    g += 2 * std::log(ratio);
  }
  return g;
}

double chi_square_quantile(int dof, double level) {
  if (dof < 1 || !(level > 0 && level < 1))
    throw Error(ErrorCode::kInvalidArgument, "shift gate: a chi-square quantile needs dof >= 1 and a level in (0, 1), got " +
                                                 std::to_string(dof) + " and " + std::to_string(level));
  const double k = dof, v = 2 / (9 * k);
  const double t = 1 - v + normal_quantile(level) * std::sqrt(v);
  return k * t * t * t;
}

}  // namespace iciia::adapt
