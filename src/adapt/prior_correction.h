// Prior correction: the training-free adaptation to a client's label shift
// (docs/design.md, "Adaptation"). Saerens, Latinne, Decaestecker, "Adjusting
// the Outputs of a Classifier to New a Priori Probabilities: A Simple
// Procedure", Neural Computation 14(1), 2002.
//
// The backbone's softmax p_i(y) was learned under the source prior π_s
// (uniform for a balanced training set). Over the m images of one client
// (history and target), EM re-estimates the client's prior q:
//     r_i(y) = p_i(y) q(y)/π_s(y)  /  Σ_y' p_i(y') q(y')/π_s(y')
//     q(y)   = (Σ_i r_i(y) + α) / (m + α C)
// α = 0 is maximum likelihood; α > 0 is the MAP estimate under a symmetric
// Dirichlet(α + 1) prior on q, which keeps a short history from driving a
// class's prior to zero. A target's corrected posterior is r(y) under the
// final q. The EM steps are SQUAREM-accelerated (prior_correction.cpp says
// how). Cost: O(steps · m · C); a warm start from the previous q saves most
// of them when one image was added.
#pragma once

#include <span>
#include <vector>

namespace iciia::adapt {

struct PriorOptions {
  double alpha = 0;          // Dirichlet smoothing; 0: maximum likelihood
  int max_iterations = 1000;  // EM steps at most (a slow ML case takes a hundred and more)
  // Stop once max_y |Δq(y)| and the distance to the fixed point it implies
  // (at the observed rate of convergence) are below this.
  double tolerance = 1e-6;
};

struct PriorResult {
  std::vector<double> prior;  // q, C entries summing to 1
  int iterations = 0;         // EM steps taken (extrapolations not counted)
};

// `probs`: m rows of C probabilities (each a softmax of the backbone's
// logits, kernels::softmax; m = probs.size() / C,
// m = 0 gives the source prior back). `source_prior`: C entries, or empty
// for uniform. `warm_start`: C entries to start from instead of π_s, or
// empty. Throws kInvalidArgument for sizes that do not fit together, or a
// negative alpha.
PriorResult estimate_prior(std::span<const float> probs, int num_classes, std::span<const double> source_prior,
                           const PriorOptions& options, std::span<const double> warm_start = {});

// w(y) = q(y)/π_s(y), uniform π_s when `source_prior` is empty; 0 where π_s
// is 0 (a class the backbone never saw cannot be re-weighted up from
// nothing). `w` is resized to q's C entries.
void prior_ratios(std::span<const double> q, std::span<const double> source_prior, std::vector<double>& w);

// One posterior re-weighted by q/π_s and renormalised: r(y) above. `out`
// may alias `probs`. When every re-weighted entry is zero (q is zero on
// every class the posterior allows), `out` is `probs` unchanged.
void correct_posterior(std::span<const float> probs, std::span<const double> prior,
                       std::span<const double> source_prior, std::span<float> out);

}  // namespace iciia::adapt
