#include "adapt/prior_correction.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "util/error.h"

namespace iciia::adapt {
namespace {

void check_prior(std::span<const double> p, int c, const char* what) {
  if (!p.empty() && p.size() != static_cast<size_t>(c))
    throw Error(ErrorCode::kInvalidArgument, std::string("prior correction: ") + what + " has " +
                                                 std::to_string(p.size()) + " entries, expected " + std::to_string(c));
}

// The ratio q(y)/π_s(y), uniform π_s when `source` is empty; 0 where π_s is 0
// (a class the backbone never saw cannot be re-weighted up from nothing).
void ratios(std::span<const double> q, std::span<const double> source, std::vector<double>& w) {
  const size_t c = q.size();
  w.resize(c);
  for (size_t y = 0; y < c; ++y) {
    const double s = source.empty() ? 1.0 / static_cast<double>(c) : source[y];
    w[y] = s > 0 ? q[y] / s : 0.0;
  }
}

}  // namespace

PriorResult estimate_prior(std::span<const float> probs, int num_classes, std::span<const double> source_prior,
                           const PriorOptions& options, std::span<const double> warm_start) {
  if (num_classes < 1 || probs.size() % static_cast<size_t>(num_classes) != 0)
    throw Error(ErrorCode::kInvalidArgument, "prior correction: " + std::to_string(probs.size()) +
                                                 " probabilities are not rows of " + std::to_string(num_classes));
  if (!(options.alpha >= 0) || options.max_iterations < 0 || !(options.tolerance >= 0))
    throw Error(ErrorCode::kInvalidArgument, "prior correction: alpha and tolerance must be >= 0, iterations >= 0");
  check_prior(source_prior, num_classes, "the source prior");
  check_prior(warm_start, num_classes, "the warm start");
  const size_t c = static_cast<size_t>(num_classes), m = probs.size() / c;

  PriorResult r;
  if (!warm_start.empty())
    r.prior.assign(warm_start.begin(), warm_start.end());
  else if (!source_prior.empty())
    r.prior.assign(source_prior.begin(), source_prior.end());
  else
    r.prior.assign(c, 1.0 / static_cast<double>(c));
  if (m == 0) return r;

  std::vector<double> w, sum(c);
  for (r.iterations = 0; r.iterations < options.max_iterations;) {
    ratios(r.prior, source_prior, w);
    std::fill(sum.begin(), sum.end(), 0.0);
    for (size_t i = 0; i < m; ++i) {
      const float* p = probs.data() + i * c;
      double z = 0;
      for (size_t y = 0; y < c; ++y) z += p[y] * w[y];
      if (!(z > 0)) continue;  // this image has no mass where q does: it cannot inform q
      for (size_t y = 0; y < c; ++y) sum[y] += p[y] * w[y] / z;
    }
    double change = 0, total = 0;
    for (size_t y = 0; y < c; ++y) total += sum[y] + options.alpha;
    ++r.iterations;
    if (!(total > 0)) break;  // nothing informed q (α = 0 and no image had mass): keep it
    for (size_t y = 0; y < c; ++y) {
      // Normalised by the sum rather than m + αC: the same value when every
      // image contributed, and still a distribution when one was skipped.
      const double q = (sum[y] + options.alpha) / total;
      change = std::max(change, std::abs(q - r.prior[y]));
      r.prior[y] = q;
    }
    if (change < options.tolerance) break;
  }
  return r;
}

void correct_posterior(std::span<const float> probs, std::span<const double> prior,
                       std::span<const double> source_prior, std::span<float> out) {
  const size_t c = probs.size();
  if (prior.size() != c || out.size() != c || (!source_prior.empty() && source_prior.size() != c))
    throw Error(ErrorCode::kInvalidArgument, "prior correction: a posterior of " + std::to_string(c) +
                                                 " classes needs a prior and an output of as many");
  std::vector<double> w;
  ratios(prior, source_prior, w);
  double z = 0;
  for (size_t y = 0; y < c; ++y) z += probs[y] * w[y];
  if (!(z > 0)) {
    if (out.data() != probs.data()) std::copy(probs.begin(), probs.end(), out.begin());
    return;
  }
  for (size_t y = 0; y < c; ++y) out[y] = static_cast<float>(probs[y] * w[y] / z);
}

}  // namespace iciia::adapt
