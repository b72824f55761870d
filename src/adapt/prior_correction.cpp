#include "adapt/prior_correction.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/ops.h"
#include "util/error.h"

namespace iciia::adapt {
namespace {

void check_prior(std::span<const double> p, int c, const char* what) {
  if (!p.empty() && p.size() != static_cast<size_t>(c))
    throw Error(ErrorCode::kInvalidArgument, std::string("prior correction: ") + what + " has " +
                                                 std::to_string(p.size()) + " entries, expected " + std::to_string(c));
}

// One EM step q → F(q) over m rows of c posteriors. Per step, r_i(y) =
// p_i(y) w(y) / z_i with w = q/π_s and z_i = p_i · w, so Σ_i r_i(y) = w(y)
// Σ_i p_i(y) / z_i: one dot and one axpy per image, in the float SIMD
// kernels (the per-image sums are short; q and the M-step stay in double).
class EmStep {
 public:
  EmStep(std::span<const float> probs, size_t c, std::span<const double> source, double alpha)
      : probs_(probs), c_(c), source_(source), alpha_(alpha), wf_(c), acc_(c) {}

  // False (and `out` = q) when nothing informed q: α = 0 and no image had
  // mass where q does.
  bool operator()(const std::vector<double>& q, std::vector<double>& out) {
    prior_ratios(q, source_, w_);
    for (size_t y = 0; y < c_; ++y) wf_[y] = static_cast<float>(w_[y]);
    std::fill(acc_.begin(), acc_.end(), 0.f);
    const int n = static_cast<int>(c_);
    for (size_t i = 0; i < probs_.size() / c_; ++i) {
      const float* p = probs_.data() + i * c_;
      const float z = kernels::dot(p, wf_.data(), n);
      if (!(z > 0)) continue;  // this image has no mass where q does: it cannot inform q
      kernels::axpy(1.f / z, p, acc_.data(), n);
    }
    out.resize(c_);
    double total = 0;
    for (size_t y = 0; y < c_; ++y) {
      out[y] = double(acc_[y]) * double(wf_[y]);
      total += out[y] + alpha_;
    }
    if (!(total > 0)) {
      out = q;
      return false;
    }
    // Normalised by the sum rather than m + αC: the same value when every
    // image contributed, and still a distribution when one was skipped.
    for (double& v : out) v = (v + alpha_) / total;
    return true;
  }

 private:
  std::span<const float> probs_;
  size_t c_;
  std::span<const double> source_;
  double alpha_;
  std::vector<double> w_;
  std::vector<float> wf_, acc_;
};

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
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

  // EM converges linearly, and slowly when the posteriors overlap (an
  // uncertain backbone, many classes: hundreds of steps) or the optimum puts
  // classes at zero. SQUAREM (Varadhan and Roland, Scandinavian Journal of
  // Statistics 35(2), 2008; scheme S3) extrapolates from two steps and
  // stabilises with a third, keeping EM's fixed point at a fraction of the
  // steps. A small step alone does not mean q is close: with the observed
  // rate ρ of the plain steps, the distance left is about δρ/(1-ρ), and both
  // must be below tolerance.
  EmStep step(probs, c, source_prior, options.alpha);
  std::vector<double> q1, q2, x(c), r_(c), v(c);
  const auto em = [&](const std::vector<double>& in, std::vector<double>& out) {
    ++r.iterations;
    return step(in, out);
  };
  while (r.iterations < options.max_iterations) {
    if (!em(r.prior, q1)) break;  // nothing informed q: keep it
    const double d1 = max_abs_diff(q1, r.prior);
    if (d1 == 0 || r.iterations >= options.max_iterations) {
      r.prior = q1;
      break;
    }
    em(q1, q2);
    const double d2 = max_abs_diff(q2, q1);
    const double rate = d2 / d1;
    const double left = rate < 1 ? d2 * rate / (1 - rate) : d2;
    if (std::max(d2, left) < options.tolerance || r.iterations >= options.max_iterations) {
      r.prior = q2;
      break;
    }
    double nr = 0, nv = 0;
    for (size_t y = 0; y < c; ++y) {
      r_[y] = q1[y] - r.prior[y];
      v[y] = q2[y] - q1[y] - r_[y];
      nr += r_[y] * r_[y];
      nv += v[y] * v[y];
    }
    // Step length α <= -1 (α = -1 gives q2 back); halved towards -1 while the
    // extrapolation leaves the simplex.
    double alpha = nv > 0 ? std::min(-std::sqrt(nr / nv), -1.0) : -1.0;
    for (;;) {
      double sum = 0;
      bool inside = true;
      for (size_t y = 0; y < c; ++y) {
        x[y] = r.prior[y] - 2 * alpha * r_[y] + alpha * alpha * v[y];
        inside = inside && x[y] >= 0 && std::isfinite(x[y]);
        sum += x[y];
      }
      if (alpha == -1.0 || (inside && sum > 0)) {
        for (double& q : x) q = std::max(q, 0.0) / sum;
        break;
      }
      alpha = alpha > -1.01 ? -1.0 : (alpha - 1) / 2;
    }
    em(x, r.prior);  // stabilising step
  }
  return r;
}

void prior_ratios(std::span<const double> q, std::span<const double> source, std::vector<double>& w) {
  const size_t c = q.size();
  w.resize(c);
  for (size_t y = 0; y < c; ++y) {
    const double s = source.empty() ? 1.0 / static_cast<double>(c) : source[y];
    w[y] = s > 0 ? q[y] / s : 0.0;
  }
}

void correct_posterior(std::span<const float> probs, std::span<const double> prior,
                       std::span<const double> source_prior, std::span<float> out) {
  const size_t c = probs.size();
  if (prior.size() != c || out.size() != c || (!source_prior.empty() && source_prior.size() != c))
    throw Error(ErrorCode::kInvalidArgument, "prior correction: a posterior of " + std::to_string(c) +
                                                 " classes needs a prior and an output of as many");
  std::vector<double> w;
  prior_ratios(prior, source_prior, w);
  double z = 0;
  for (size_t y = 0; y < c; ++y) z += probs[y] * w[y];
  if (!(z > 0)) {
    if (out.data() != probs.data()) std::copy(probs.begin(), probs.end(), out.begin());
    return;
  }
  for (size_t y = 0; y < c; ++y) out[y] = static_cast<float>(probs[y] * w[y] / z);
}

}  // namespace iciia::adapt
